using EfficientFT.Bench.Reporting;

namespace EfficientFT.Bench.Tests.Reporting;

public sealed class HolmTests
{
    /// <summary>
    /// By hand: sorted p 0.005, 0.01, 0.03, 0.04 times 4, 3, 2, 1 give 0.02, 0.03, 0.06, 0.04; the running maximum
    /// makes the last 0.06. At 5% the two smallest survive, where Bonferroni (×4) would keep only 0.005.
    /// </summary>
    [Fact]
    public void Adjusts_step_down_in_the_input_order()
    {
        var adjusted = Holm.Adjust([0.01, 0.04, 0.03, 0.005]);
        Assert.Equal([0.03, 0.06, 0.06, 0.02], adjusted.Select(p => Math.Round(p, 12)));
    }

    [Fact]
    public void Caps_at_one_and_leaves_a_single_test_alone()
    {
        Assert.Equal([1.0, 1.0], Holm.Adjust([0.6, 0.7]));
        Assert.Equal([0.03], Holm.Adjust([0.03]));
        Assert.Empty(Holm.Adjust([]));
    }
}
