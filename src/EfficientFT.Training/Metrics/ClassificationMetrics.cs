namespace EfficientFT.Training.Metrics;

/// <summary>
/// Scores of predicted class ids against reference class ids, defined as sklearn's accuracy_score, f1_score
/// (average="binary", pos_label=1) and matthews_corrcoef, including their zero-division conventions, so that numbers
/// are comparable with the ones the reference scripts print.
/// </summary>
public static class ClassificationMetrics
{
    public static double Accuracy(ReadOnlySpan<int> predictions, ReadOnlySpan<int> references)
    {
        Inputs.CheckPaired(predictions.Length, references.Length);
        var correct = 0;
        for (var i = 0; i < predictions.Length; i++)
        {
            if (predictions[i] == references[i])
            {
                correct++;
            }
        }

        return (double)correct / predictions.Length;
    }

    /// <summary>2·TP / (2·TP + FP + FN) for class 1; 0 when there are neither positive predictions nor positive references (sklearn's zero_division default).</summary>
    public static double F1(ReadOnlySpan<int> predictions, ReadOnlySpan<int> references)
    {
        Inputs.CheckPaired(predictions.Length, references.Length);
        long truePositive = 0, falsePositive = 0, falseNegative = 0;
        for (var i = 0; i < predictions.Length; i++)
        {
            var predicted = predictions[i] == 1;
            var actual = references[i] == 1;
            if (predicted && actual)
            {
                truePositive++;
            }
            else if (predicted)
            {
                falsePositive++;
            }
            else if (actual)
            {
                falseNegative++;
            }
        }

        var denominator = 2 * truePositive + falsePositive + falseNegative;
        return denominator == 0 ? 0.0 : 2.0 * truePositive / denominator;
    }

    /// <summary>
    /// The multi-class Matthews correlation (Gorodkin's R_K), which is the φ coefficient for two classes. It is 0 when
    /// either the predictions or the references hold a single class, where the correlation is undefined; sklearn does
    /// the same, and CoLA scores of degenerate classifiers are reported that way.
    /// </summary>
    public static double MatthewsCorrelation(ReadOnlySpan<int> predictions, ReadOnlySpan<int> references)
    {
        Inputs.CheckPaired(predictions.Length, references.Length);
        var trueCounts = new Dictionary<int, long>();
        var predictedCounts = new Dictionary<int, long>();
        long correct = 0;
        for (var i = 0; i < predictions.Length; i++)
        {
            trueCounts[references[i]] = trueCounts.GetValueOrDefault(references[i]) + 1;
            predictedCounts[predictions[i]] = predictedCounts.GetValueOrDefault(predictions[i]) + 1;
            if (predictions[i] == references[i])
            {
                correct++;
            }
        }

        // Doubles: the products of counts overflow long for sets of a few million examples.
        double samples = predictions.Length;
        double truePredictedDot = 0;
        foreach (var (label, count) in trueCounts)
        {
            truePredictedDot += (double)count * predictedCounts.GetValueOrDefault(label);
        }

        var covariance = correct * samples - truePredictedDot;
        var predictedVariance = samples * samples - SumOfSquares(predictedCounts.Values);
        var trueVariance = samples * samples - SumOfSquares(trueCounts.Values);
        var denominator = predictedVariance * trueVariance;
        return denominator == 0 ? 0.0 : covariance / Math.Sqrt(denominator);
    }

    private static double SumOfSquares(IEnumerable<long> counts)
    {
        double sum = 0;
        foreach (var count in counts)
        {
            sum += (double)count * count;
        }

        return sum;
    }
}
