namespace EfficientFT.Bench.Reporting;

/// <summary>
/// Holm's step-down correction for testing many differences at once. A grid compares dozens of cells, and at the 5%
/// level one test in twenty comes out significant by chance; Holm keeps the chance of even one false claim among
/// all of them at the level, without assuming the tests are independent (seeds and tasks are shared across cells).
/// </summary>
public static class Holm
{
    /// <summary>
    /// Adjusted p-values in the input's order: the i-th smallest p is multiplied by the number of tests not yet
    /// rejected (m − i + 1), capped at 1, and made non-decreasing along the sorted order. An adjusted p below the
    /// level is a difference that stays significant after the correction.
    /// </summary>
    public static double[] Adjust(IReadOnlyList<double> pValues)
    {
        var order = Enumerable.Range(0, pValues.Count).OrderBy(i => pValues[i]).ToArray();
        var adjusted = new double[pValues.Count];
        var running = 0.0;
        for (var rank = 0; rank < order.Length; rank++)
        {
            running = Math.Max(running, Math.Min(1, (order.Length - rank) * pValues[order[rank]]));
            adjusted[order[rank]] = running;
        }
        return adjusted;
    }
}
