using System.Diagnostics;
using System.Globalization;
using EfficientFT.Models;
using EfficientFT.Models.Configs;
using EfficientFT.Models.Tokenizers;
using EfficientFT.Peft;
using EfficientFT.Tensors;
using EfficientFT.Training;
using EfficientFT.Training.Data;
using EfficientFT.Training.Metrics;
using EfficientFT.Training.Schedules;

namespace EfficientFT.Bench;

/// <summary>
/// Runs one benchmark run: loads the model (a sequence classifier with a fresh head for the task, seeded by the run's
/// seed) and the task, tokenizes with the model's tokenizer.json, builds the method and the optimizer as `eft train`
/// does, trains, evaluates on the task's evaluation splits, and describes the outcome as a <see cref="RunRecord"/>.
/// A run that throws becomes a failed record; a NaN loss a diverged one.
/// </summary>
public sealed class BenchRunner(TaskCatalog tasks)
{
    private readonly Dictionary<string, Tokenizer> _tokenizers = new(StringComparer.Ordinal);
    private readonly Dictionary<(string Model, string Task, int MaxLength), Encoded> _encoded = new();

    private sealed record Encoded(ModelBatch Train, IReadOnlyList<(string Split, ModelBatch Rows)> Evaluation);

    /// <summary>Called after every optimizer step with (step, total steps, loss).</summary>
    public Action<int, int, float>? StepCompleted { get; set; }

    /// <summary>Checks that the model can be found (config.json and tokenizer.json); throws otherwise.</summary>
    public string ModelDirectory(string model) => BenchEnvironment.ResolveModel(model, tasks.AssetsDirectory);

    /// <param name="workDirectory">Where checkpoints go when the plan asks for them; a checkpoint there is resumed from.</param>
    /// <returns>The record, or null when <paramref name="cancellation"/> stopped the run (nothing to record).</returns>
    public RunRecord? Run(RunPlan plan, string? workDirectory = null, CancellationToken cancellation = default)
    {
        var s = plan.Settings;
        var clock = Stopwatch.StartNew();
        BenchEnvironment.ResetPeakMemory();
        RunRecord Record(string status, string? error) => new()
        {
            Id = plan.Id, Settings = s, Status = status, Error = error, CodeVersion = BenchEnvironment.CodeVersion,
            Machine = BenchEnvironment.Machine, FinishedAt = DateTimeOffset.UtcNow, WallSeconds = clock.Elapsed.TotalSeconds,
            PeakMemoryBytes = BenchEnvironment.PeakMemoryBytes(), GradientCheckpointing = plan.GradientCheckpointing,
        };
        try
        {
            var data = tasks.Load(s.Task);
            var modelDir = ModelDirectory(s.Model);
            var model = LoadClassifier(modelDir, data.Task, s.Seed, s.FrozenBf16);
            var encoded = Encode(modelDir, model, s, data);
            var steps = TotalSteps(s, encoded.Train.Batch);
            var peftOptions = new PeftOptions
            {
                Method = s.Method,
                Targets = TargetSpec.Parse(s.Targets),
                Rank = s.Rank > 0 ? s.Rank : 8,
                Alpha = s.Alpha > 0 ? s.Alpha : 8,
                Dropout = s.AdapterDropout,
                Seed = s.Seed,
                SparseRate = Option(s, "sparse_rate") ?? 0.2,
                PissaIterations = Option(s, "pissa_iterations") is { } iterations ? (int)iterations : null,
                Mpc = s.MethodOptions.TryGetValue("mpc", out var mpc) ? MpcOptions.TryParse(mpc) ?? throw new ArgumentException($"mpc '{mpc}' is not {MpcOptions.Expected}.") : null,
                AdaLora = s.Method == "adalora"
                    ? new AdaLoraOptions { InitR = (int?)Option(s, "adalora_init_r") ?? s.Rank * 3 / 2, TargetR = s.Rank, TotalStep = steps }
                    : null,
            };
            var peft = PeftModel.Create(model, peftOptions, OptimizerSetup.InitBatches(s.Method, encoded.Train, s.BatchSize));
            var optimizer = OptimizerSetup.Create(peft, new OptimizerSettings
            {
                LearningRate = s.LearningRate,
                ValueRatio = s.Lambda,
                LoraPlusRatio = s.Method == "loraplus" ? Option(s, "loraplus_ratio") ?? 16 : null,
                WeightDecay = s.WeightDecay,
                Beta1 = s.AdamBeta1,
                Beta2 = s.AdamBeta2,
                Eps = s.AdamEpsilon,
                GaloreGap = (int?)Option(s, "galore_gap") ?? 200,
                GaloreScale = Option(s, "galore_scale") ?? 0.25,
            });
            var trainerOptions = new TrainerOptions
            {
                Epochs = Math.Max(s.Epochs, 1),
                MaxSteps = s.MaxSteps,
                BatchSize = s.BatchSize,
                GradientAccumulation = s.GradientAccumulation,
                MaxGradNorm = s.MaxGradNorm,
                Schedule = Enum.Parse<ScheduleKind>(s.Schedule, ignoreCase: true),
                WarmupSteps = (int)Math.Ceiling(s.WarmupRatio * steps),
                Seed = s.Seed,
                EvaluateEvery = plan.EvaluateEvery,
                CheckpointEvery = workDirectory != null ? plan.CheckpointEvery : null,
                CheckpointInterval = workDirectory != null && plan.CheckpointMinutes is { } minutes ? TimeSpan.FromMinutes(minutes) : null,
                GradientCheckpointing = plan.GradientCheckpointing,
                // Resuming reads only the newest; a full fine-tuning checkpoint of a large model is the model's size.
                KeepCheckpoints = 1,
                OutputDirectory = workDirectory,
                Resume = workDirectory != null && plan.Checkpoints,
                TrimPadding = true,
            };
            var evaluation = encoded.Evaluation
                .Select(e => (e.Split, Batches: Chunks(e.Rows, Math.Max(s.BatchSize, 32)))).ToList();
            var trainer = new Trainer(peft, optimizer, trainerOptions)
            {
                Evaluate = _ => Scores(peft, data.Task, evaluation),
                StepCompleted = StepCompleted,
            };
            var result = trainer.Train(encoded.Train, cancellation);
            if (result.Status == TrainingStatus.Cancelled) return null;

            var final = result.Evaluations.Count > 0 ? result.Evaluations[^1].Metrics : new Dictionary<string, double>();
            var trainSeconds = result.StepSeconds.Sum();
            var diverged = result.Status == TrainingStatus.Diverged;
            return Record(diverged ? RunStatus.Diverged : RunStatus.Completed,
                    diverged ? $"the loss was not finite at step {result.DivergedStep}." : null) with
                {
                    Scores = diverged ? new Dictionary<string, double>() : final,
                    HeadlineMetric = data.Task.HeadlineMetric.ShortName(),
                    Headline = diverged ? null : Headline(data.Task, final),
                    TrainableParameters = peft.TrainableCount,
                    TotalParameters = TotalParameters(peft),
                    TrainableShare = peft.TrainableShare,
                    Steps = result.Steps,
                    SecondsPerStep = result.StepSeconds.Count > 0 ? trainSeconds / result.StepSeconds.Count : 0,
                    // The trainer's rate counts evaluation time too; this one is training alone.
                    TokensPerSecond = trainSeconds > 0 ? result.TokensPerSecond * result.WallTime.TotalSeconds / trainSeconds : 0,
                    Losses = result.Losses,
                    Evaluations = result.Evaluations,
                };
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            return Record(RunStatus.Failed, $"{e.GetType().Name}: {e.Message}");
        }
    }

    /// <summary>Optimizer steps of the run: max_steps, else epochs of the Trainer's steps.</summary>
    public static int TotalSteps(RunSettings s, int rows) =>
        s.MaxSteps ?? Math.Max(s.Epochs, 1) * Trainer.StepsPerEpoch(rows, s.BatchSize, s.GradientAccumulation);

    /// <summary>
    /// The model as a sequence classifier with the task's labels: the body from the checkpoint, the head (whatever the
    /// checkpoint had) initialised fresh from <paramref name="seed"/>.
    /// </summary>
    public static PretrainedModel LoadClassifier(string directory, GlueTask task, ulong seed, bool frozenBf16 = false)
    {
        var labels = task.IsRegression ? ["LABEL_0"] : task.LabelNames;
        var (model, _) = Pretrained.Load(directory, config => Pretrained.AsSequenceClassifier(config, labels,
            SequenceClassification.ProblemFor(task.LabelCount, task.IsMultiLabel)),
            seed: seed, freshHead: true, holdInBFloat16: frozenBf16);
        return model;
    }

    private Encoded Encode(string modelDir, PretrainedModel model, RunSettings s, TaskData data)
    {
        var key = (modelDir, s.Task, s.MaxLength);
        if (_encoded.TryGetValue(key, out var known)) return known;
        if (!_tokenizers.TryGetValue(modelDir, out var tokenizer))
            _tokenizers[modelDir] = tokenizer = Tokenizer.FromFile(Path.Combine(modelDir, "tokenizer.json"));
        var pad = tokenizer.PadTokenId == null && model.ModelConfig.PadTokenId is { } id ? tokenizer.IdToToken(id) : null;
        var encoded = new Encoded(
            Tokenize(tokenizer, data.Train, data.Task, s.MaxLength, pad),
            data.Evaluation.Select(e => (e.Split, Tokenize(tokenizer, e.Examples, data.Task, s.MaxLength, pad))).ToList());
        if (_encoded.Count > 8) _encoded.Clear();
        _encoded[key] = encoded;
        return encoded;
    }

    /// <summary>
    /// The examples as one right-padded batch as wide as its longest row (at most <paramref name="maxLength"/>
    /// tokens); the trainer and the evaluation cut each batch they take to its own longest row.
    /// </summary>
    public static ModelBatch Tokenize(Tokenizer tokenizer, IReadOnlyList<TextExample> examples, GlueTask task, int maxLength, string? padToken = null)
    {
        var encoding = tokenizer.EncodeBatch(examples.Select(e => (e.First, e.Second)).ToList(), maxLength, padToken: padToken);
        var batch = new ModelBatch(examples.Count, encoding.SequenceLength, encoding.Ids, encoding.AttentionMask);
        if (task.IsMultiLabel)
        {
            var hot = new float[examples.Count * task.LabelCount];
            for (var row = 0; row < examples.Count; row++)
                foreach (var label in examples[row].Labels ?? throw new InvalidOperationException($"{task.Name}: example {row} has no labels, and the task is multi-label."))
                    hot[row * task.LabelCount + label] = 1;
            return batch with { MultiHotLabels = hot };
        }
        return batch with
        {
            ClassLabels = task.IsRegression ? null : examples.Select(e => (int)e.Label).ToArray(),
            RegressionLabels = task.IsRegression ? examples.Select(e => e.Label).ToArray() : null,
        };
    }

    /// <summary>Consecutive batches of <paramref name="size"/> rows, each trimmed to its longest row.</summary>
    public static IReadOnlyList<ModelBatch> Chunks(ModelBatch rows, int size) =>
        Enumerable.Range(0, (rows.Batch + size - 1) / size)
            .Select(i => rows.SelectTrimmed(Enumerable.Range(i * size, Math.Min(size, rows.Batch - i * size)).ToList()))
            .ToList();

    /// <summary>
    /// Every metric of the task by its short name (accuracy, f1, mcc, pearson, spearman); with several evaluation
    /// splits (MNLI) each is "{metric}_{split}", and "{headline}" alone is the headline over the splits.
    /// </summary>
    public static IReadOnlyDictionary<string, double> Scores(PeftModel peft, GlueTask task, IReadOnlyList<(string Split, IReadOnlyList<ModelBatch> Batches)> evaluation)
    {
        var scores = new SortedDictionary<string, double>(StringComparer.Ordinal);
        var headlines = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var (split, batches) in evaluation)
        {
            var metrics = GlueEvaluation.Evaluate(peft, batches, task);
            headlines[split] = metrics[task.HeadlineMetric.ToString()];
            foreach (var (name, value) in metrics)
            {
                var metric = Enum.Parse<Metric>(name).ShortName();
                scores[evaluation.Count == 1 ? metric : $"{metric}_{split}"] = value;
            }
        }
        if (evaluation.Count > 1) scores[task.HeadlineMetric.ShortName()] = task.Headline(headlines);
        return scores;
    }

    private static double? Headline(GlueTask task, IReadOnlyDictionary<string, double> scores) =>
        scores.TryGetValue(task.HeadlineMetric.ShortName(), out var value) ? value : null;

    private static long TotalParameters(PeftModel peft) =>
        peft.Model.NamedTensors().Select(p => p.Value).Concat(peft.Trainable.Select(p => p.Value))
            .Distinct(ReferenceEqualityComparer.Instance).Cast<Tensor>().Sum(t => (long)t.Size);

    private static double? Option(RunSettings s, string key) =>
        s.MethodOptions.TryGetValue(key, out var text) ? double.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture) : null;
}
