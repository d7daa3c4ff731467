namespace EfficientFT.Training.Metrics;

/// <summary>
/// The short names metrics go by in task files, benchmark results and reports (accuracy, f1, mcc, pearson, spearman),
/// in both directions, so that what a task file asks for and what a result records are spelt alike.
/// </summary>
public static class MetricNames
{
    /// <summary>Every accepted name, aliases included, by its metric.</summary>
    public static IReadOnlyDictionary<string, Metric> ByName { get; } = new Dictionary<string, Metric>(StringComparer.OrdinalIgnoreCase)
    {
        ["accuracy"] = Metric.Accuracy,
        ["f1"] = Metric.F1,
        ["mcc"] = Metric.MatthewsCorrelation,
        ["matthews_correlation"] = Metric.MatthewsCorrelation,
        ["pearson"] = Metric.Pearson,
        ["spearman"] = Metric.Spearman,
        ["micro_f1"] = Metric.MicroF1,
        ["macro_f1"] = Metric.MacroF1,
        ["exact_match"] = Metric.ExactMatch,
    };

    /// <summary>The name a result records the metric by.</summary>
    public static string ShortName(this Metric metric) => metric switch
    {
        Metric.Accuracy => "accuracy",
        Metric.F1 => "f1",
        Metric.MatthewsCorrelation => "mcc",
        Metric.Pearson => "pearson",
        Metric.Spearman => "spearman",
        Metric.MicroF1 => "micro_f1",
        Metric.MacroF1 => "macro_f1",
        Metric.ExactMatch => "exact_match",
        _ => throw new ArgumentOutOfRangeException(nameof(metric), metric, null),
    };
}
