namespace EfficientFT.Training.Metrics;

/// <summary>
/// Scores a <see cref="Metric"/> from the float labels the data readers produce: classification metrics take them as
/// class ids, correlations as scores.
/// </summary>
public static class MetricEvaluator
{
    public static double Compute(Metric metric, ReadOnlySpan<double> predictions, ReadOnlySpan<double> references) => metric switch
    {
        Metric.Accuracy => ClassificationMetrics.Accuracy(ClassIds(predictions), ClassIds(references)),
        Metric.F1 => ClassificationMetrics.F1(ClassIds(predictions), ClassIds(references)),
        Metric.MatthewsCorrelation => ClassificationMetrics.MatthewsCorrelation(ClassIds(predictions), ClassIds(references)),
        Metric.Pearson => CorrelationMetrics.Pearson(predictions, references),
        Metric.Spearman => CorrelationMetrics.Spearman(predictions, references),
        _ => throw new ArgumentOutOfRangeException(nameof(metric), metric, "Unknown metric."),
    };

    private static int[] ClassIds(ReadOnlySpan<double> values)
    {
        var ids = new int[values.Length];
        for (var i = 0; i < values.Length; i++)
        {
            // A fractional value here is a regression output handed to a classification metric, a caller's bug.
            if (values[i] != Math.Floor(values[i]) || values[i] < int.MinValue || values[i] > int.MaxValue)
            {
                throw new ArgumentException($"Value {values[i]} at {i} is not a class id.");
            }

            ids[i] = (int)values[i];
        }

        return ids;
    }
}
