using System.Diagnostics;
using System.Globalization;
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
/// The methods' own step hooks are not checkpointed: AdaLoRA's importance averages and MPC's state restart.
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
    public Action<int, int, float>? StepCompleted { get; init; }

    /// <summary>Trains on the rows of <paramref name="data"/>. A NaN or infinite loss ends the run as diverged rather than throwing.</summary>
    public TrainingResult Train(ModelBatch data, CancellationToken cancellation = default)
    {
        Validate(data);
        var microPerEpoch = (data.Batch + options.BatchSize - 1) / options.BatchSize;
        var stepsPerEpoch = (microPerEpoch + options.GradientAccumulation - 1) / options.GradientAccumulation;
        var totalSteps = options.MaxSteps ?? options.Epochs * stepsPerEpoch;
        var losses = new List<float>();
        var evaluations = new List<EvaluationRecord>();
        var last = options.Resume ? LatestCheckpoint() : null;
        var firstStep = last == null ? 1 : Restore(last, losses, evaluations) + 1;

        var clock = Stopwatch.StartNew();
        var status = TrainingStatus.Completed;
        var (orderEpoch, order) = (-1, Array.Empty<int>());
        long tokens = 0;
        var stepSeconds = new List<double>();
        var step = firstStep;
        var lastCheckpoint = TimeSpan.Zero;
        using var memory = new StepMemory();
        for (; step <= totalSteps; step++)
        {
            if (cancellation.IsCancellationRequested)
            {
                status = TrainingStatus.Cancelled;
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
            var loss = 0f;
            for (var m = 0; m < micros && float.IsFinite(loss); m++)
            {
                var rows = order.Skip((firstMicro + m) * options.BatchSize).Take(options.BatchSize).ToList();
                var batch = options.TrimPadding ? data.SelectTrimmed(rows) : data.Select(rows);
                tokens += batch.AttentionMask.Sum(v => (long)v);
                loss += MicroStep(batch, context, micros) / micros;
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
                SaveCheckpoint(step, epoch, losses, evaluations);
                lastCheckpoint = clock.Elapsed;
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

    /// <summary>Forward and backward of one micro-batch, its loss scaled by 1/<paramref name="micros"/> so the step sees their mean; returns the unscaled loss.</summary>
    private float MicroStep(ModelBatch batch, ForwardContext context, int micros)
    {
        var loss = peft.Forward(batch, context).Loss ?? throw new InvalidOperationException(
            $"{peft.Model.Architecture}: the batch has no labels, so there is no loss to train on.");
        if (peft.LossTerm() is { } term) loss = loss + term;
        var value = loss.Item();
        if (!float.IsFinite(value)) return value;
        (micros == 1 ? loss : loss * (1f / micros)).Backward();
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

    private string CheckpointDirectory(int step) => Path.Combine(options.OutputDirectory!, $"checkpoint-{step}");

    /// <summary>
    /// Writes the trained tensors as they are (what resuming reads), the adapter in peft's layout (what users load),
    /// the optimizer's state and the trainer's. The directory is assembled under a temporary name and renamed, so a
    /// run killed mid-write leaves no checkpoint that looks complete.
    /// </summary>
    private void SaveCheckpoint(int step, int epoch, IReadOnlyList<float> losses, IReadOnlyList<EvaluationRecord> evaluations)
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

    /// <summary>The complete checkpoints under the output directory, newest first.</summary>
    private IEnumerable<string> Checkpoints()
    {
        if (!Directory.Exists(options.OutputDirectory)) return [];
        return Directory.EnumerateDirectories(options.OutputDirectory, "checkpoint-*")
            .Select(d => (Dir: d, Step: int.TryParse(Path.GetFileName(d)["checkpoint-".Length..], NumberStyles.None, CultureInfo.InvariantCulture, out var s) ? s : -1))
            .Where(c => c.Step > 0 && File.Exists(Path.Combine(c.Dir, StateFile)))
            .OrderByDescending(c => c.Step)
            .Select(c => c.Dir)
            .ToList();
    }

    /// <summary>Loads a checkpoint into the model and optimizer and returns the step it was taken after.</summary>
    private int Restore(string directory, List<float> losses, List<EvaluationRecord> evaluations)
    {
        var (seed, step, savedLosses, savedEvaluations) = ReadState(directory);
        if (seed != options.Seed)
            throw new InvalidDataException($"{directory}: taken with seed {seed}, this run has seed {options.Seed}; the data order would differ.");
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
    private static (ulong Seed, int Step, List<float> Losses, List<EvaluationRecord> Evaluations) ReadState(string directory)
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
            return (seed, Field(state, "step").GetValue<int>(), losses, evaluations);
        }
        catch (Exception e) when (e is JsonException or InvalidDataException or InvalidOperationException or FormatException or OverflowException)
        {
            throw new InvalidDataException($"{path}: not a checkpoint state written by this trainer ({e.Message}).", e);
        }

        static JsonNode Field(JsonNode node, string name) => node[name] ?? throw new InvalidDataException($"no \"{name}\"");

        static JsonNode Item(JsonNode? node, string within) => node ?? throw new InvalidDataException($"a null in \"{within}\"");
    }
}
