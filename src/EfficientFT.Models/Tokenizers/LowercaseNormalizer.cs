namespace EfficientFT.Models.Tokenizers;

/// <summary>Full Unicode lowercasing, one code point at a time and without context, as Rust's char lowercasing does.</summary>
internal sealed class LowercaseNormalizer : INormalizer
{
    public string Normalize(string text) => Lower(text);

    public static string Lower(string text)
    {
        // .NET's invariant casing leaves İ alone; Unicode's full lowercase mapping (and so HF) gives i + combining dot.
        var lowered = text.ToLowerInvariant();
        return lowered.Contains('\u0130') ? lowered.Replace("\u0130", "i\u0307") : lowered;
    }
}
