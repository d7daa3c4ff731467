namespace EfficientFT.Training.Data;

/// <summary>The custom task JSON as written; <see cref="CustomTaskReader"/> checks it and turns it into a <see cref="GlueTask"/>.</summary>
internal sealed record CustomTaskFile(
    string Name,
    IReadOnlyList<string> TextColumns,
    string LabelColumn,
    IReadOnlyList<string> Metrics,
    IReadOnlyList<string>? LabelNames = null,
    bool Regression = false,
    string? Headline = null,
    IReadOnlyList<string>? EvaluationSplits = null,
    bool MultiLabel = false);
