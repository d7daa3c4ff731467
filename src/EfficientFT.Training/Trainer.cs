using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using EfficientFT.Models;
using EfficientFT.Models.Nn;
using EfficientFT.Models.SafeTensors;
using EfficientFT.Peft;
using EfficientFT.Tensors;
using EfficientFT.Tensors.Autograd;
using EfficientFT.Training.Optimizers;
using EfficientFT.Training.Schedules;

namespace EfficientFT.Training;

/// <summary>
/// The fine-tuning loop: shuffled epochs of micro-batches, gradient accumulation, clipping, a learning-rate schedule,
/// the method's hooks once per optimizer step, periodic evaluation and checkpoints, and resumption.
/// <para>
/// Randomness is a function of the seed and the position, not of a stream's history: epoch e is shuffled with a
/// generator seeded from (seed, e) and the dropout of optimizer step s draws from one seeded from (seed, s). A resumed
/// run therefore needs only the step count to continue exactly, and with an <see cref="ICheckpointableOptimizer"/>
/// (AdamW, GaLore's AdamW) its updates match an uninterrupted run's; another optimizer restarts its moments on resume.
/// A method's state between steps (<see cref="IStatefulStepHook"/>) is checkpointed beside the trained tensors.
/// </para>
/// </summary>
public sealed class Trainer(PeftModel peft, IOptimizer optimizer, TrainerOptions options)
{
    private const string StateFile = "trainer_state.json";

    /// <summary>What the method's stateful step hooks carry between steps (see <see cref="IStatefulStepHook"/>).</summary>
    private const string HookStateFile = "hooks.safetensors";

    // Shuffles and dropout draw from separate key spaces, so epoch e's shuffle and step e's dropout are unrelated streams.
    private const ulong ShuffleStream = 1, DropoutStream = 2;

    /// <summary>Called with the step after every <see cref="TrainerOptions.EvaluateEvery"/> steps and after the last one.</summary>
    public Func<int, IReadOnlyDictionary<string, double>>? Evaluate { get; init; }

    /// <summary>Called after every optimizer step with (step, total steps, loss), for progress displays.</summary>
    public Action<int, int, float>? StepCompleted { get; set; }

    /// <summary>Optimizer steps in one pass over <paramref name="rows"/>: ⌈⌈rows / batch size⌉ / accumulation⌉, the last ones partial.</summary>
    public static int StepsPerEpoch(int rows, int batchSize, int accumulation) =>
        ((rows + batchSize - 1) / batchSize + accumulation - 1) / accumulation;

    /// <summary>
    /// How many targets the rows give the model's loss, or why none: labels of another kind than the loss reads, or
    /// every label −100. Callers that read the rows from a file check it first, to name the file.
    /// </summary>
    /// <exception cref="InvalidDataException">The rows give the loss nothing to train on.</exception>
    public static int RequireTargets(PretrainedModel model, ModelBatch data)
    {
        int targets;
        try
        {
            targets = model.LossItems(data);
        }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException($"{e.Message} There is nothing to train on.", e);
        }
        return targets > 0 ? targets
            : throw new InvalidDataException($"every label of the {data.Batch} rows is −100 (ignored), so there is nothing to train on.");
    }

    /// <summary>Trains on the rows of <paramref name="data"/>. A NaN or infinite loss ends the run as diverged rather than throwing.</summary>
    public TrainingResult Train(ModelBatch data, CancellationToken cancellation = default)
    {
        Validate(data);
        var microPerEpoch = (data.Batch + options.BatchSize - 1) / options.BatchSize;
        var stepsPerEpoch = StepsPerEpoch(data.Batch, options.BatchSize, options.GradientAccumulation);
        var totalSteps = options.MaxSteps ?? options.Epochs * stepsPerEpoch;
        var losses = new List<float>();
        var evaluations = new List<EvaluationRecord>();
        var settings = Settings(data);
        var last = options.Resume ? LatestCheckpoint() : null;
        var firstStep = last == null ? 1 : Restore(last, settings, losses, evaluations) + 1;
        // More steps than the checkpoint's run continue it (its schedule then runs to the new end); fewer would finish
        // before the checkpoint and hand back that other run's weights as this one's.
        if (firstStep - 1 > totalSteps)
            throw new InvalidDataException($"{last}: taken after step {firstStep - 1}, past this run's {totalSteps} steps; resume with at least as many, or use another output directory.");

        var clock = Stopwatch.StartNew();
        var status = TrainingStatus.Completed;
        var (orderEpoch, order) = (-1, Array.Empty<int>());
        long tokens = 0;
        var stepSeconds = new List<double>();
        var step = firstStep;
        var lastCheckpoint = TimeSpan.Zero;
        var checkpointed = firstStep - 1;
        using var memory = new StepMemory();
        for (; step <= totalSteps; step++)
        {
            if (cancellation.IsCancellationRequested)
            {
                status = TrainingStatus.Cancelled;
                // A run that takes checkpoints keeps the steps it made before it was stopped: a resume continues from here.
                if (TakesCheckpoints && step - 1 > checkpointed) SaveCheckpoint(step - 1, (step - 2) / stepsPerEpoch, settings, losses, evaluations);
                break;
            }
            var epoch = (step - 1) / stepsPerEpoch;
            if (epoch != orderEpoch) (orderEpoch, order) = (epoch, Order(data.Batch, epoch));
            var firstMicro = (step - 1) % stepsPerEpoch * options.GradientAccumulation;
            var micros = Math.Min(options.GradientAccumulation, microPerEpoch - firstMicro);
            var stepStart = clock.Elapsed;
            memory.BeginStep();
            var context = new ForwardContext(options.Dropout, new Rng(Rng.Hash(Rng.Hash(options.Seed, DropoutStream), (ulong)step)))
            {
                GradientCheckpointing = options.GradientCheckpointing,
            };
            var batches = Enumerable.Range(firstMicro, micros).Select(m =>
            {
                var rows = order.Skip(m * options.BatchSize).Take(options.BatchSize).ToList();
                return options.TrimPadding ? data.SelectTrimmed(rows) : data.Select(rows);
            }).ToList();
            // Every target of the step weighs the same, however the micro-batches split them (transformers ≥ 4.46 for
            // language models, num_items_in_batch): a micro-batch whose labels are all −100 adds nothing.
            var items = batches.Select(peft.Model.LossItems).ToList();
            var allItems = items.Sum();
            var loss = 0f;
            var termAdded = false;
            for (var m = 0; m < micros && float.IsFinite(loss); m++)
            {
                if (items[m] == 0) continue;
                tokens += batches[m].AttentionMask.Sum(v => (long)v);
                loss += MicroStep(batches[m], context, (float)items[m] / allItems, addTerm: !termAdded);
                termAdded = true;
            }
            if (!termAdded && float.IsFinite(loss) && peft.LossTerm() is { } alone)
            {
                loss += alone.Item();
                if (float.IsFinite(loss)) alone.Backward();
            }
            if (float.IsFinite(loss) && options.MaxGradNorm is { } maxNorm
                && !double.IsFinite(GradientClipping.ClipGlobalNorm(peft.Trainable.Select(p => p.Value), maxNorm)))
                loss = float.NaN;
            if (!float.IsFinite(loss))
            {
                optimizer.ZeroGrad();
                status = TrainingStatus.Diverged;
                break;
            }
            // transformers' schedulers count steps taken, so the first update runs at lr_lambda(0).
            optimizer.LearningRateScale = LearningRateSchedules.Multiplier(options.Schedule, step - 1, totalSteps, options.WarmupSteps);
            optimizer.Step();
            peft.AfterOptimizerStep(step);
            optimizer.ZeroGrad();
            OpProfile.Lap("(optimizer step)");
            memory.EndStep();
            stepSeconds.Add((clock.Elapsed - stepStart).TotalSeconds);
            losses.Add(loss);
            StepCompleted?.Invoke(step, totalSteps, loss);
            if (Evaluate != null && options.EvaluateEvery is { } every && step % every == 0) evaluations.Add(new EvaluationRecord(step, Evaluate(step)));
            if ((options.CheckpointEvery is { } stepsApart && step % stepsApart == 0) || clock.Elapsed - lastCheckpoint >= options.CheckpointInterval)
            {
                SaveCheckpoint(step, epoch, settings, losses, evaluations);
                lastCheckpoint = clock.Elapsed;
                checkpointed = step;
            }
        }
        var stepsDone = step - firstStep;
        var completed = step - 1;
        if (status == TrainingStatus.Completed && Evaluate != null && (evaluations.Count == 0 || evaluations[^1].Step != completed))
            evaluations.Add(new EvaluationRecord(completed, Evaluate(completed)));
        clock.Stop();
        var seconds = clock.Elapsed.TotalSeconds;
        return new TrainingResult(status, completed, losses, evaluations, clock.Elapsed,
            stepsDone > 0 ? seconds / stepsDone : 0, seconds > 0 ? tokens / seconds : 0, stepSeconds);
    }

    /// <summary>
    /// Forward and backward of one micro-batch, its mean loss scaled by <paramref name="weight"/> (its share of the
    /// step's targets), plus the method's loss term once per step (<paramref name="addTerm"/>); returns what it added.
    /// </summary>
    private float MicroStep(ModelBatch batch, ForwardContext context, float weight, bool addTerm)
    {
        var loss = peft.Forward(batch, context).Loss ?? throw new InvalidOperationException(
            $"{peft.Model.Architecture}: the batch has no labels, so there is no loss to train on.");
        if (weight != 1f) loss = loss * weight;
        if (addTerm && peft.LossTerm() is { } term) loss = loss + term;
        var value = loss.Item();
        if (float.IsFinite(value)) loss.Backward();
        return value;
    }

    private int[] Order(int rows, int epoch)
    {
        var order = Enumerable.Range(0, rows).ToArray();
        if (!options.Shuffle) return order;
        var rng = new Rng(Rng.Hash(Rng.Hash(options.Seed, ShuffleStream), (ulong)epoch));
        for (var i = order.Length - 1; i > 0; i--)
        {
            var j = rng.NextInt(i + 1);
            (order[i], order[j]) = (order[j], order[i]);
        }
        return order;
    }

    private void Validate(ModelBatch data)
    {
        data.Validate();
        RequireTargets(peft.Model, data);
        if (options.BatchSize < 1 || options.GradientAccumulation < 1)
            throw new ArgumentException($"Batch size {options.BatchSize} and gradient accumulation {options.GradientAccumulation} must be at least 1.");
        if (options.MaxSteps is < 1 || (options.MaxSteps == null && options.Epochs < 1))
            throw new ArgumentException($"Nothing to train: {options.Epochs} epochs, max steps {options.MaxSteps}.");
        if (options.EvaluateEvery is < 1 || options.CheckpointEvery is < 1 || options.WarmupSteps < 0)
            throw new ArgumentException($"Evaluate every {options.EvaluateEvery} and checkpoint every {options.CheckpointEvery} steps must be at least 1, warm-up {options.WarmupSteps} at least 0.");
        if (options.CheckpointInterval is { } interval && interval <= TimeSpan.Zero)
            throw new ArgumentException($"The checkpoint interval must be positive, got {interval.TotalMinutes} minutes.");
        if (options.KeepCheckpoints is < 1)
            throw new ArgumentException($"The number of checkpoints to keep must be at least 1, got {options.KeepCheckpoints}.");
        if ((options.CheckpointEvery != null || options.CheckpointInterval != null || options.Resume) && options.OutputDirectory == null)
            throw new ArgumentException("Checkpoints and resuming need an output directory.");
    }

    /// <summary>
    /// Everything a resumed run must share with the checkpoint's to continue it: the options that shape the steps, a
    /// digest of the data, and the caller's <see cref="TrainerOptions.RunSettings"/>. The step count is not among them:
    /// a run may be resumed to go on for longer.
    /// </summary>
    private SortedDictionary<string, string> Settings(ModelBatch data) =>
        new(options.RunSettings.ToDictionary(), StringComparer.Ordinal)
        {
            ["batch_size"] = options.BatchSize.ToString(CultureInfo.InvariantCulture),
            ["gradient_accumulation"] = options.GradientAccumulation.ToString(CultureInfo.InvariantCulture),
            ["schedule"] = options.Schedule.ToString().ToLowerInvariant(),
            ["warmup_steps"] = options.WarmupSteps.ToString(CultureInfo.InvariantCulture),
            ["max_grad_norm"] = options.MaxGradNorm?.ToString("R", CultureInfo.InvariantCulture) ?? "none",
            ["shuffle"] = options.Shuffle ? "true" : "false",
            ["dropout"] = options.Dropout ? "true" : "false",
            ["data"] = DataDigest(data),
        };

    /// <summary>The rows' count and a SHA-256 of their ids, masks and labels: the same file gives the same digest.</summary>
    private static string DataDigest(ModelBatch data)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        void Add<T>(T[]? values, byte tag) where T : unmanaged
        {
            hash.AppendData([tag]);
            if (values != null) hash.AppendData(MemoryMarshal.AsBytes(values.AsSpan()));
        }
        Add(data.InputIds, 1);
        Add(data.AttentionMask, 2);
        Add(data.ClassLabels, 3);
        Add(data.RegressionLabels, 4);
        Add(data.TokenLabels, 5);
        // Only when present, so the digests of checkpoints saved before multi-label rows existed stay the same.
        if (data.MultiHotLabels != null) Add(data.MultiHotLabels, 6);
        return string.Create(CultureInfo.InvariantCulture, $"{data.Batch}×{data.Length} rows, sha256 {Convert.ToHexStringLower(hash.GetHashAndReset())[..16]}");
    }

    private bool TakesCheckpoints => options.OutputDirectory != null && (options.CheckpointEvery != null || options.CheckpointInterval != null);

    private string CheckpointDirectory(int step) => Path.Combine(options.OutputDirectory!, $"checkpoint-{step}");

    /// <summary>
    /// Writes the trained tensors as they are (what resuming reads), the adapter in peft's layout (what users load),
    /// the optimizer's state and the trainer's. The directory is assembled under a temporary name and renamed, so a
    /// run killed mid-write leaves no checkpoint that looks complete.
    /// </summary>
    private void SaveCheckpoint(int step, int epoch, IReadOnlyDictionary<string, string> settings, IReadOnlyList<float> losses,
        IReadOnlyList<EvaluationRecord> evaluations)
    {
        var final = CheckpointDirectory(step);
        var partial = final + ".partial";
        if (Directory.Exists(partial)) Directory.Delete(partial, recursive: true);
        Directory.CreateDirectory(partial);
        SafeTensorsWriter.Save(Path.Combine(partial, "trainable.safetensors"), peft.Trainable.Select(p => KeyValuePair.Create(p.Name, p.Value)));
        try
        {
            peft.SaveAdapter(Path.Combine(partial, "adapter"));
        }
        catch (NotSupportedException)
        {
            // Methods without an adapter file (SIFT) still resume, from trainable.safetensors and hooks.safetensors.
        }
        if (optimizer is ICheckpointableOptimizer stateful)
            SafeTensorsWriter.Save(Path.Combine(partial, "optimizer.safetensors"), stateful.SaveState());
        if (peft.HasHookState) SafeTensorsWriter.Save(Path.Combine(partial, HookStateFile), peft.SaveHookState());
        var state = new JsonObject
        {
            ["step"] = step,
            // For people reading the checkpoint; resuming derives the position from the step.
            ["epoch"] = epoch,
            ["seed"] = options.Seed.ToString(CultureInfo.InvariantCulture),
            ["settings"] = new JsonObject(settings.Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)kv.Value))),
            ["losses"] = new JsonArray(losses.Select(l => (JsonNode?)JsonValue.Create(l)).ToArray()),
            ["evaluations"] = new JsonArray(evaluations.Select(e => (JsonNode?)new JsonObject
            {
                ["step"] = e.Step,
                ["metrics"] = new JsonObject(e.Metrics.Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)JsonValue.Create(kv.Value)))),
            }).ToArray()),
        };
        File.WriteAllText(Path.Combine(partial, StateFile), state.ToJsonString(StateJson));
        if (Directory.Exists(final)) Directory.Delete(final, recursive: true);
        Directory.Move(partial, final);
        if (options.KeepCheckpoints is { } keep)
            foreach (var older in Checkpoints().Skip(keep)) Directory.Delete(older, recursive: true);
    }

    /// <summary>
    /// A metric can be NaN (Pearson's r of a constant prediction) and JSON has no literal for it: written as the string
    /// "NaN", and read back by <see cref="Number"/>, instead of failing the checkpoint and with it the run.
    /// </summary>
    private static readonly JsonSerializerOptions StateJson = new()
    {
        WriteIndented = true, NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    private static double Number(JsonNode node) => node.GetValueKind() == JsonValueKind.String
        ? double.Parse(node.GetValue<string>(), NumberStyles.Float, CultureInfo.InvariantCulture)
        : node.GetValue<double>();

    private string? LatestCheckpoint() => Checkpoints().FirstOrDefault();

    private IEnumerable<string> Checkpoints() => Checkpoints(options.OutputDirectory!);

    /// <summary>The complete checkpoints (checkpoint-{step} with its trainer state) under a directory, newest first.</summary>
    public static IReadOnlyList<string> Checkpoints(string outputDirectory)
    {
        if (!Directory.Exists(outputDirectory)) return [];
        return Directory.EnumerateDirectories(outputDirectory, "checkpoint-*")
            .Select(d => (Dir: d, Step: int.TryParse(Path.GetFileName(d)["checkpoint-".Length..], NumberStyles.None, CultureInfo.InvariantCulture, out var s) ? s : -1))
            .Where(c => c.Step > 0 && File.Exists(Path.Combine(c.Dir, StateFile)))
            .OrderByDescending(c => c.Step)
            .Select(c => c.Dir)
            .ToList();
    }

    /// <summary>Loads a checkpoint into the model and optimizer and returns the step it was taken after.</summary>
    private int Restore(string directory, IReadOnlyDictionary<string, string> settings, List<float> losses, List<EvaluationRecord> evaluations)
    {
        var (seed, step, savedSettings, savedLosses, savedEvaluations) = ReadState(directory);
        if (seed != options.Seed)
            throw new InvalidDataException($"{directory}: taken with seed {seed}, this run has seed {options.Seed}; the data order would differ.");
        // A checkpoint from before settings were recorded is taken on trust, as it was then.
        if (savedSettings != null && SettingsDifference.Describe(savedSettings, settings) is { } differences)
            throw new InvalidDataException($"{directory}: taken by a run with other settings ({differences}); resume with the same ones, or use another output directory.");
        var tensors = SafeTensorsFile.LoadAll(Path.Combine(directory, "trainable.safetensors"));
        foreach (var p in peft.Trainable)
        {
            if (!tensors.TryGetValue(p.Name, out var value) || value.Size != p.Value.Size)
                throw new InvalidDataException($"{directory}: trainable.safetensors has no tensor {p.Name} of {p.Value.Size} elements.");
            p.Value.CopyFrom(value.AsSpan());
        }
        var optimizerPath = Path.Combine(directory, "optimizer.safetensors");
        if (optimizer is ICheckpointableOptimizer stateful && File.Exists(optimizerPath))
        {
            var optimizerState = SafeTensorsFile.LoadAll(optimizerPath);
            try
            {
                stateful.LoadState(optimizerState);
            }
            catch (InvalidDataException e)
            {
                throw new InvalidDataException($"{optimizerPath}: {e.Message}", e);
            }
        }
        if (peft.HasHookState)
        {
            var hookPath = Path.Combine(directory, HookStateFile);
            if (!File.Exists(hookPath))
                throw new InvalidDataException($"{directory}: has no {HookStateFile} with {peft.Method.Name}'s state between steps; it was written by an older version, and resuming without that state would not continue the same run.");
            using var hookState = SafeTensorsFile.Open(hookPath);
            peft.LoadHookState(hookState);
        }
        losses.AddRange(savedLosses);
        evaluations.AddRange(savedEvaluations);
        return step;
    }

    /// <summary>
    /// A checkpoint's trainer_state.json, read whole before anything is restored. A file this trainer did not write (a
    /// Hugging Face Trainer's checkpoint in the same output directory, or a damaged one) then stops the resume with its
    /// path, not with a null reference half-way through loading the weights.
    /// </summary>
    private static (ulong Seed, int Step, Dictionary<string, string>? Settings, List<float> Losses, List<EvaluationRecord> Evaluations) ReadState(string directory)
    {
        var path = Path.Combine(directory, StateFile);
        try
        {
            var state = JsonNode.Parse(File.ReadAllText(path)) ?? throw new InvalidDataException("it holds null");
            var seed = ulong.Parse(Field(state, "seed").GetValue<string>(), CultureInfo.InvariantCulture);
            var losses = Field(state, "losses").AsArray().Select(n => (float)Number(Item(n, "losses"))).ToList();
            var evaluations = Field(state, "evaluations").AsArray().Select(n =>
            {
                var e = Item(n, "evaluations");
                return new EvaluationRecord(Field(e, "step").GetValue<int>(),
                    Field(e, "metrics").AsObject().ToDictionary(kv => kv.Key, kv => Number(Item(kv.Value, kv.Key))));
            }).ToList();
            var settings = state["settings"]?.AsObject().ToDictionary(kv => kv.Key, kv => Item(kv.Value, kv.Key).GetValue<string>(), StringComparer.Ordinal);
            return (seed, Field(state, "step").GetValue<int>(), settings, losses, evaluations);
        }
        catch (Exception e) when (e is JsonException or InvalidDataException or InvalidOperationException or FormatException or OverflowException)
        {
            throw new InvalidDataException($"{path}: not a checkpoint state written by this trainer ({e.Message}).", e);
        }

        static JsonNode Field(JsonNode node, string name) => node[name] ?? throw new InvalidDataException($"no \"{name}\"");

        static JsonNode Item(JsonNode? node, string within) => node ?? throw new InvalidDataException($"a null in \"{within}\"");
    }
}
