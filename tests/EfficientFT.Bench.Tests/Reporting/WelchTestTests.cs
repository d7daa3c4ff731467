using EfficientFT.Bench.Reporting;

namespace EfficientFT.Bench.Tests.Reporting;

public sealed class WelchTestTests
{
    private static ScoreCell Cell(params double[] scores) => new(scores, scores.Length, 0, 0, 0);

    /// <summary>
    /// Three seeds of variance 1 on each side make Welch's test Student's with 4 degrees of freedom, whose two-sided
    /// 5% critical value is 2.7764451 (statistical tables); a difference of that many standard errors has p = 0.05.
    /// </summary>
    [Fact]
    public void At_the_tabled_critical_value_p_is_five_percent()
    {
        var d = 2.7764451 * Math.Sqrt(2.0 / 3);
        Assert.Equal(0.05, WelchTest.PValue(Cell(10 + d, 11 + d, 12 + d), Cell(10, 11, 12))!.Value, 6);
        Assert.Equal(0.05, WelchTest.PValue(Cell(10, 11, 12), Cell(10 + d, 11 + d, 12 + d))!.Value, 6);
    }

    [Fact]
    public void Without_spread_or_with_one_seed_it_cannot_say()
    {
        Assert.Null(WelchTest.PValue(Cell(3, 3), Cell(2, 2)));
        Assert.Equal(1, WelchTest.PValue(Cell(3, 3), Cell(3, 3)));
        Assert.Null(WelchTest.PValue(Cell(3), Cell(1, 2, 3)));
    }

    [Theory]
    [InlineData(0.41, "p = 0.41")]
    [InlineData(0.4, "p = 0.40")]
    [InlineData(1.0, "p = 1.00")]
    [InlineData(0.0036022, "p = 0.0036")]
    [InlineData(0.0704, "p = 0.070")]
    [InlineData(0.0004, "p < 0.001")]
    public void Formats_two_significant_figures(double p, string text) => Assert.Equal(text, WelchTest.Format(p));
}
