namespace EfficientFT.Training.Data;

/// <summary>The column names of a task's text: one sentence, or a pair when <see cref="Second"/> is set.</summary>
public sealed record SentenceKeys(string First, string? Second = null);
