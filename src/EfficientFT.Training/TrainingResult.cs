namespace EfficientFT.Training;

/// <summary>
/// What a <see cref="Trainer"/> run did. <paramref name="Losses"/> has one entry per optimizer step (the mean over its
/// micro-batches), from step 1 even when the run resumed. The timings cover only the steps this process ran;
/// <paramref name="StepSeconds"/> has one entry per such step (benchmarks take medians over it).
/// </summary>
public sealed record TrainingResult(
    TrainingStatus Status,
    int Steps,
    IReadOnlyList<float> Losses,
    IReadOnlyList<EvaluationRecord> Evaluations,
    TimeSpan WallTime,
    double SecondsPerStep,
    double TokensPerSecond,
    IReadOnlyList<double> StepSeconds)
{
    /// <summary>The step whose loss was not finite (the one after the last completed), for a diverged run.</summary>
    public int? DivergedStep => Status == TrainingStatus.Diverged ? Steps + 1 : null;
}
