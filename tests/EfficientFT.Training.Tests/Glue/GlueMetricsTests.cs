using EfficientFT.Training.Metrics;

namespace EfficientFT.Training.Tests.Glue;

/// <summary>Each expected value is worked out by hand from the metric's definition, written next to it.</summary>
public sealed class GlueMetricsTests
{
    private const double Tolerance = 1e-12;

    [Fact]
    public void Accuracy_CountsMatches()
    {
        Assert.Equal(0.75, ClassificationMetrics.Accuracy([1, 0, 1, 1], [1, 0, 0, 1]), Tolerance);
    }

    [Fact]
    public void F1_OfClassOne()
    {
        // TP = 2 (positions 0, 4), FP = 1 (1), FN = 1 (2): 2·2 / (2·2 + 1 + 1).
        Assert.Equal(2.0 / 3.0, ClassificationMetrics.F1([1, 1, 0, 0, 1], [1, 0, 1, 0, 1]), Tolerance);
    }

    [Fact]
    public void F1_WithoutAnyPositive_IsZero()
    {
        Assert.Equal(0.0, ClassificationMetrics.F1([0, 0], [0, 0]));
    }

    [Fact]
    public void Mcc_PerfectIsOne_InvertedIsMinusOne()
    {
        Assert.Equal(1.0, ClassificationMetrics.MatthewsCorrelation([0, 1, 1, 0], [0, 1, 1, 0]), Tolerance);
        Assert.Equal(-1.0, ClassificationMetrics.MatthewsCorrelation([1, 0, 0, 1], [0, 1, 1, 0]), Tolerance);
        Assert.Equal(1.0, ClassificationMetrics.MatthewsCorrelation([2, 0, 1, 2], [2, 0, 1, 2]), Tolerance);
    }

    [Fact]
    public void Mcc_OfATwoByTwoConfusionMatrix_IsThePhiCoefficient()
    {
        const int tp = 3, tn = 4, fp = 1, fn = 2;
        int[] predictions = [.. Repeat(1, tp), .. Repeat(0, tn), .. Repeat(1, fp), .. Repeat(0, fn)];
        int[] references = [.. Repeat(1, tp), .. Repeat(0, tn), .. Repeat(0, fp), .. Repeat(1, fn)];
        var expected = (tp * tn - fp * fn) / Math.Sqrt((double)(tp + fp) * (tp + fn) * (tn + fp) * (tn + fn));

        Assert.Equal(expected, ClassificationMetrics.MatthewsCorrelation(predictions, references), Tolerance);
    }

    [Fact]
    public void Mcc_MatchesSklearnsDocumentedExample()
    {
        // sklearn's matthews_corrcoef docstring: y_true [+1, +1, +1, -1], y_pred [+1, -1, +1, +1] → -0.33…
        Assert.Equal(-1.0 / 3.0, ClassificationMetrics.MatthewsCorrelation([1, -1, 1, 1], [1, 1, 1, -1]), Tolerance);
    }

    [Fact]
    public void Mcc_MultiClass_UsesTheGeneralForm()
    {
        // 4 of 6 correct (c = 4, s = 6); true and predicted counts both (2, 2, 2):
        // (c·s − Σ t·p) / √((s² − Σ p²)(s² − Σ t²)) = (24 − 12) / √(24·24) = 0.5.
        Assert.Equal(0.5, ClassificationMetrics.MatthewsCorrelation([0, 1, 1, 0, 2, 2], [0, 1, 2, 0, 1, 2]), Tolerance);
    }

    [Fact]
    public void Mcc_OfConstantPredictions_IsZero()
    {
        Assert.Equal(0.0, ClassificationMetrics.MatthewsCorrelation([1, 1, 1, 1], [0, 1, 1, 0]));
        Assert.Equal(0.0, ClassificationMetrics.MatthewsCorrelation([0, 1, 1, 0], [1, 1, 1, 1]));
    }

    [Fact]
    public void Pearson_OfLinearAndHandWorkedData()
    {
        Assert.Equal(1.0, CorrelationMetrics.Pearson([1, 2, 3], [2, 4, 6]), Tolerance);
        Assert.Equal(-1.0, CorrelationMetrics.Pearson([1, 2, 3], [3, 2, 1]), Tolerance);
        // Deviations (−1.5, −.5, .5, 1.5) and (−1.5, .5, −.5, 1.5): Σxy = 4, Σx² = Σy² = 5.
        Assert.Equal(0.8, CorrelationMetrics.Pearson([1, 2, 3, 4], [1, 3, 2, 4]), Tolerance);
    }

    [Fact]
    public void Pearson_OfAConstantSide_IsNaN()
    {
        Assert.True(double.IsNaN(CorrelationMetrics.Pearson([2, 2, 2], [1, 2, 3])));
        Assert.True(double.IsNaN(CorrelationMetrics.Spearman([1, 2, 3], [5, 5, 5])));
        // 1,500 copies of 0.1 sum to a mean that is not 0.1 in floating point; the result must still be NaN, not noise.
        var constant = Enumerable.Repeat(0.1, 1500).ToArray();
        Assert.True(double.IsNaN(CorrelationMetrics.Pearson(constant, Enumerable.Range(0, 1500).Select(i => (double)i).ToArray())));
    }

    /// <summary>A NaN has no rank: scipy's spearmanr gives NaN (nan_policy "propagate"), as Pearson does here.</summary>
    [Fact]
    public void Spearman_WithANaN_IsNaN()
    {
        Assert.True(double.IsNaN(CorrelationMetrics.Spearman([1, double.NaN, 3, 4], [1, 2, 3, 4])));
        Assert.True(double.IsNaN(CorrelationMetrics.Spearman([1, 2, 3, 4], [double.NaN, 2, 3, 4])));
    }

    [Fact]
    public void Spearman_OfAMonotoneTransform_IsOne()
    {
        double[] x = [0.3, 1, 2, 5, 8];
        Assert.Equal(1.0, CorrelationMetrics.Spearman(x, x.Select(Math.Exp).ToArray()), Tolerance);
        Assert.Equal(-1.0, CorrelationMetrics.Spearman(x, x.Select(v => -v * v * v).ToArray()), Tolerance);
    }

    [Fact]
    public void Spearman_GivesTiesTheirAverageRank()
    {
        Assert.Equal([2.0, 3.5, 3.5, 1.0], CorrelationMetrics.AverageRanks([10, 20, 20, 5]));

        // Ranks (1, 2.5, 2.5, 4) against (1, 2, 3, 4): deviations (−1.5, 0, 0, 1.5) and (−1.5, −.5, .5, 1.5),
        // Σxy = 4.5, Σx² = 4.5, Σy² = 5, so ρ = √0.9 (scipy.stats.spearmanr gives 0.9486832980505138).
        Assert.Equal(Math.Sqrt(0.9), CorrelationMetrics.Spearman([1, 2, 2, 3], [1, 2, 3, 4]), Tolerance);
    }

    [Fact]
    public void EmptyOrUnpairedInput_IsAnArgumentException()
    {
        Assert.Throws<ArgumentException>(() => ClassificationMetrics.Accuracy([], []));
        Assert.Throws<ArgumentException>(() => ClassificationMetrics.MatthewsCorrelation([], []));
        Assert.Throws<ArgumentException>(() => ClassificationMetrics.F1([1], [1, 0]));
        Assert.Throws<ArgumentException>(() => CorrelationMetrics.Pearson([], []));
        Assert.Throws<ArgumentException>(() => CorrelationMetrics.Spearman([1.0], [1.0, 2.0]));
    }

    [Fact]
    public void Evaluator_ReadsFloatLabelsAsClassIds()
    {
        Assert.Equal(-1.0 / 3.0, MetricEvaluator.Compute(Metric.MatthewsCorrelation, [1, -1, 1, 1], [1, 1, 1, -1]), Tolerance);
        Assert.Equal(0.8, MetricEvaluator.Compute(Metric.Pearson, [1, 2, 3, 4], [1, 3, 2, 4]), Tolerance);
        Assert.Throws<ArgumentException>(() => MetricEvaluator.Compute(Metric.Accuracy, [0.5], [1]));
    }

    private static IEnumerable<int> Repeat(int value, int count) => Enumerable.Repeat(value, count);

    /// <summary>
    /// Three rows of three labels. References 101, 010, 000; predictions 110, 010, 001. Pooled: TP 2, FP 2, FN 1, so
    /// micro-F1 = 4 / 7. Per label: label 0 F1 1; label 1 TP 1, FP 1, so 2/3; label 2 TP 0, FP 1, FN 1, so 0: macro-F1 =
    /// (1 + 2/3 + 0) / 3 = 5/9. Only row 1 is right throughout: exact match 1/3.
    /// </summary>
    [Fact]
    public void MultiLabel_MicroMacroAndExactMatch()
    {
        bool[] reference = [true, false, true, false, true, false, false, false, false];
        bool[] predicted = [true, true, false, false, true, false, false, false, true];
        Assert.Equal(4.0 / 7.0, MultiLabelMetrics.Compute(Metric.MicroF1, predicted, reference, 3), Tolerance);
        Assert.Equal(5.0 / 9.0, MultiLabelMetrics.Compute(Metric.MacroF1, predicted, reference, 3), Tolerance);
        Assert.Equal(1.0 / 3.0, MultiLabelMetrics.Compute(Metric.ExactMatch, predicted, reference, 3), Tolerance);
        // A label never true and never predicted scores 0, as scikit-learn's zero_division=0.
        Assert.Equal(0.5, MultiLabelMetrics.Compute(Metric.MacroF1, [true, false], [true, false], 2), Tolerance);
    }
}
