using EfficientFT.Training;

namespace EfficientFT.Bench;

/// <summary>Run outcomes as written to a run's result file.</summary>
public static class RunStatus
{
    public const string Completed = "completed";
    public const string Diverged = "diverged";

    /// <summary>The run threw (bad data, out of memory, …); <see cref="RunRecord.Error"/> says why.</summary>
    public const string Failed = "failed";
}

/// <summary>
/// The result of one finished benchmark run: one JSON file per run (see <see cref="RunRecordJson"/>). Written once,
/// atomically, when the run ends; never rewritten.
/// </summary>
public sealed record RunRecord
{
    public required string Id { get; init; }

    public required RunSettings Settings { get; init; }

    /// <summary>One of <see cref="RunStatus"/>'s values.</summary>
    public required string Status { get; init; }

    /// <summary>Why a failed or diverged run ended; null for completed ones.</summary>
    public string? Error { get; init; }

    /// <summary>Every metric of the task at the final evaluation, by name (accuracy, f1, mcc, pearson, spearman, …).</summary>
    public IReadOnlyDictionary<string, double> Scores { get; init; } = new Dictionary<string, double>();

    /// <summary>The task's headline metric name (as the origin project reports it) and its value, ×100 not applied.</summary>
    public string? HeadlineMetric { get; init; }

    public double? Headline { get; init; }

    public long TrainableParameters { get; init; }

    public long TotalParameters { get; init; }

    /// <summary>Trainable / total, in [0, 1].</summary>
    public double TrainableShare { get; init; }

    /// <summary>Peak working set of the process while this run trained, in bytes.</summary>
    public long PeakMemoryBytes { get; init; }

    /// <summary>
    /// Whether the run recomputed activations in backward: it changes the memory and time figures, not the result,
    /// so it is recorded here rather than in the settings the id comes from.
    /// </summary>
    public bool GradientCheckpointing { get; init; }

    public int Steps { get; init; }

    public double SecondsPerStep { get; init; }

    public double TokensPerSecond { get; init; }

    public double WallSeconds { get; init; }

    /// <summary>Training loss of every optimizer step, from step 1.</summary>
    public IReadOnlyList<float> Losses { get; init; } = [];

    /// <summary>Every evaluation the run made (step and metrics), the last being the final one.</summary>
    public IReadOnlyList<EvaluationRecord> Evaluations { get; init; } = [];

    /// <summary>The code that produced the result: the git commit (with "+dirty" for local changes) or the assembly version.</summary>
    public required string CodeVersion { get; init; }

    /// <summary>The machine, in words (cores, OS), to read timings against.</summary>
    public string? Machine { get; init; }

    public DateTimeOffset FinishedAt { get; init; }
}
