namespace EfficientFT.Training;

/// <summary>The metrics an evaluation returned after optimizer step <paramref name="Step"/>.</summary>
public sealed record EvaluationRecord(int Step, IReadOnlyDictionary<string, double> Metrics);
