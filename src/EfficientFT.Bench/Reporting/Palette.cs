namespace EfficientFT.Bench.Reporting;

/// <summary>
/// Okabe–Ito colours, distinguishable with the common colour-vision deficiencies; yellow last because it is faint on
/// white. Series also differ by marker shape or dash, so no plot relies on colour alone.
/// </summary>
internal static class Palette
{
    public static readonly string[] Colors = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442"];

    public static readonly string[] Dashes = ["", "6 3", "2 3", "8 3 2 3"];

    public static string Color(int i) => Colors[i % Colors.Length];

    public static string Dash(int i) => Dashes[i % Dashes.Length];

    public static MarkerShape Marker(int i) => (MarkerShape)(i % 4);
}

internal enum MarkerShape { Circle, Square, Triangle, Diamond }
