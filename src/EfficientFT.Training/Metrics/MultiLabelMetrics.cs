namespace EfficientFT.Training.Metrics;

/// <summary>
/// Multi-label scores on multi-hot rows (<c>bool</c> per row and label, row-major), as scikit-learn's f1_score with
/// average="micro"/"macro" and accuracy_score compute them on indicator matrices, with zero_division = 0.
/// </summary>
public static class MultiLabelMetrics
{
    public static double Compute(Metric metric, IReadOnlyList<bool> predicted, IReadOnlyList<bool> reference, int labels)
    {
        Inputs.CheckPaired(predicted.Count, reference.Count);
        if (labels < 1 || predicted.Count % labels != 0)
            throw new ArgumentException($"{predicted.Count} decisions do not make rows of {labels} labels.");
        var rows = predicted.Count / labels;
        return metric switch
        {
            Metric.MicroF1 => F1(Enumerable.Range(0, predicted.Count), predicted, reference),
            Metric.MacroF1 => Enumerable.Range(0, labels)
                .Average(label => F1(Enumerable.Range(0, rows).Select(row => row * labels + label), predicted, reference)),
            Metric.ExactMatch => Enumerable.Range(0, rows)
                .Count(row => Enumerable.Range(row * labels, labels).All(i => predicted[i] == reference[i])) / (double)rows,
            _ => throw new ArgumentOutOfRangeException(nameof(metric), metric, "not a multi-label metric."),
        };
    }

    private static double F1(IEnumerable<int> decisions, IReadOnlyList<bool> predicted, IReadOnlyList<bool> reference)
    {
        var (truePositive, falsePositive, falseNegative) = (0, 0, 0);
        foreach (var i in decisions)
        {
            if (predicted[i] && reference[i]) truePositive++;
            else if (predicted[i]) falsePositive++;
            else if (reference[i]) falseNegative++;
        }
        var denominator = 2 * truePositive + falsePositive + falseNegative;
        return denominator == 0 ? 0 : 2.0 * truePositive / denominator;
    }
}
