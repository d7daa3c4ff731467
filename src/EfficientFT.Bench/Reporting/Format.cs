using System.Globalization;

namespace EfficientFT.Bench.Reporting;

/// <summary>Number formatting shared by the Markdown and HTML reports (invariant culture throughout).</summary>
public static class Format
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>Shortest round form: 2, 0.5, 1e-4.</summary>
    public static string Number(double x) => x.ToString("G4", Inv);

    /// <summary>A score on the ×100 scale: two decimals, as the paper prints them.</summary>
    public static string Score(double x) => x.ToString("F2", Inv);

    /// <summary>A signed difference in points: "+1.23", "−0.40" (a real minus sign).</summary>
    public static string Signed(double x) => (x >= 0 ? "+" : "−") + Math.Abs(x).ToString("F2", Inv);

    /// <summary>Parameter counts as the paper prints them (1.48M), with K and plain counts for small models.</summary>
    public static string Count(long n) => n switch
    {
        >= 100_000 => (n / 1e6).ToString("F2", Inv) + "M",
        >= 10_000 => (n / 1e3).ToString("F1", Inv) + "K",
        _ => n.ToString("N0", Inv),
    };

    /// <summary>An axis tick for a count: 300K, 1M, 2.5M (no trailing zeros).</summary>
    public static string CountTick(double n) => n switch
    {
        >= 1e6 => (n / 1e6).ToString("0.##", Inv) + "M",
        >= 1e3 => (n / 1e3).ToString("0.##", Inv) + "K",
        _ => n.ToString("0.##", Inv),
    };

    /// <summary>A share in [0, 1] as a percentage with three significant digits.</summary>
    public static string Share(double share) => (share * 100).ToString(share * 100 >= 10 ? "F1" : share * 100 >= 1 ? "F2" : "G3", Inv) + "%";

    public static string Bytes(long bytes) => bytes switch
    {
        >= 1L << 30 => (bytes / (double)(1L << 30)).ToString("F2", Inv) + " GiB",
        >= 1L << 20 => (bytes / (double)(1L << 20)).ToString("F0", Inv) + " MiB",
        _ => (bytes / 1024.0).ToString("F0", Inv) + " KiB",
    };

    public static string Seconds(double s) => s switch
    {
        >= 3600 => (s / 3600).ToString("F1", Inv) + " h",
        >= 120 => (s / 60).ToString("F1", Inv) + " min",
        >= 1 => s.ToString("F1", Inv) + " s",
        _ => (s * 1000).ToString("F0", Inv) + " ms",
    };

    public static string Fixed(double x, int decimals) => x.ToString("F" + decimals, Inv);
}
