using MathNet.Numerics.Distributions;

namespace EfficientFT.Bench.Reporting;

/// <summary>
/// Welch's two-sample t-test on the seeds' scores of two cells: does not assume equal variances, and with two or
/// three seeds a side it is the honest question the report can ask ("could this difference be seed noise?").
/// </summary>
public static class WelchTest
{
    /// <summary>The level below which the report calls a difference significant.</summary>
    public const double Level = 0.05;

    /// <summary>
    /// The two-sided p-value for mean a ≠ mean b, or null when a side has fewer than two scores (no spread known), or
    /// when neither side has any spread and the means differ: a test of that divides by zero, and two seeds that
    /// happened to score alike are no evidence of certainty (accuracies on a few hundred examples move in steps).
    /// </summary>
    public static double? PValue(ScoreCell a, ScoreCell b)
    {
        if (a.Completed < 2 || b.Completed < 2) return null;
        var (va, vb) = (a.Std * a.Std / a.Completed, b.Std * b.Std / b.Completed);
        var diff = a.Mean - b.Mean;
        if (va + vb == 0) return diff == 0 ? 1 : null;
        var t = diff / Math.Sqrt(va + vb);
        var df = (va + vb) * (va + vb) / (va * va / (a.Completed - 1) + vb * vb / (b.Completed - 1));
        return 2 * StudentT.CDF(0, 1, df, -Math.Abs(t));
    }

    /// <summary>"p = 0.41", "p = 0.092", "p = 0.0036", "p < 0.001": two significant figures, as a sentence reads it.</summary>
    public static string Format(double p)
    {
        if (p < 0.001) return "p < 0.001";
        var decimals = Math.Max(2, 1 - (int)Math.Floor(Math.Log10(p)));
        return "p = " + p.ToString("F" + decimals, System.Globalization.CultureInfo.InvariantCulture);
    }
}
