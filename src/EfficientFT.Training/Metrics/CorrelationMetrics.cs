namespace EfficientFT.Training.Metrics;

/// <summary>
/// Correlations for the regression task (STS-B), as scipy.stats.pearsonr and spearmanr compute them. When either side
/// is constant the correlation is undefined and the result is NaN, as scipy's, rather than an exception: an evaluation
/// of a collapsed model should still be logged, and NaN cannot be mistaken for a score.
/// </summary>
public static class CorrelationMetrics
{
    public static double Pearson(ReadOnlySpan<double> predictions, ReadOnlySpan<double> references)
    {
        Inputs.CheckPaired(predictions.Length, references.Length);
        // Tested on the values, as scipy does: the mean of n copies of c is not always c in floating point, and the
        // deviations from it would then give a small noise correlation instead of NaN.
        if (IsConstant(predictions) || IsConstant(references))
        {
            return double.NaN;
        }

        var predictedMean = Mean(predictions);
        var referenceMean = Mean(references);
        double cross = 0, predictedSquares = 0, referenceSquares = 0;
        for (var i = 0; i < predictions.Length; i++)
        {
            var p = predictions[i] - predictedMean;
            var r = references[i] - referenceMean;
            cross += p * r;
            predictedSquares += p * p;
            referenceSquares += r * r;
        }

        // Rounding can push |r| a hair past 1 for (anti-)proportional inputs.
        return Math.Clamp(cross / Math.Sqrt(predictedSquares * referenceSquares), -1.0, 1.0);
    }

    private static bool IsConstant(ReadOnlySpan<double> values)
    {
        foreach (var v in values)
        {
            if (v != values[0])
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// Pearson of the ranks, tied values sharing the mean of the ranks they span (scipy's rankdata "average"). NaN in
    /// either input gives NaN, as scipy's spearmanr propagates it: a NaN has no rank.
    /// </summary>
    public static double Spearman(ReadOnlySpan<double> predictions, ReadOnlySpan<double> references)
    {
        Inputs.CheckPaired(predictions.Length, references.Length);
        if (HasNaN(predictions) || HasNaN(references))
        {
            return double.NaN;
        }

        return Pearson(AverageRanks(predictions), AverageRanks(references));
    }

    private static bool HasNaN(ReadOnlySpan<double> values)
    {
        foreach (var v in values)
        {
            if (double.IsNaN(v))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>1-based ranks; a run of equal values at sorted positions i..j all get (i + j) / 2.</summary>
    internal static double[] AverageRanks(ReadOnlySpan<double> values)
    {
        var order = new int[values.Length];
        for (var i = 0; i < order.Length; i++)
        {
            order[i] = i;
        }

        var keys = values.ToArray();
        Array.Sort(keys, order);
        var ranks = new double[values.Length];
        var start = 0;
        while (start < keys.Length)
        {
            var end = start;
            while (end + 1 < keys.Length && keys[end + 1] == keys[start])
            {
                end++;
            }

            var rank = (start + end) / 2.0 + 1.0;
            for (var k = start; k <= end; k++)
            {
                ranks[order[k]] = rank;
            }

            start = end + 1;
        }

        return ranks;
    }

    private static double Mean(ReadOnlySpan<double> values)
    {
        double sum = 0;
        foreach (var value in values)
        {
            sum += value;
        }

        return sum / values.Length;
    }
}
