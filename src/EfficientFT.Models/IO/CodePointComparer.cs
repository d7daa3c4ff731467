using System.Text;

namespace EfficientFT.Models.IO;

/// <summary>
/// Orders names by Unicode code point, which is the byte order of their UTF-8 encodings: the order Rust's
/// <c>String::cmp</c> and Python's <c>sorted</c> give. Ordinal UTF-16 comparison differs from it for characters
/// above U+E000 against surrogate pairs, so files written here would not match the reference byte for byte.
/// </summary>
internal sealed class CodePointComparer : IComparer<string>
{
    public static readonly CodePointComparer Instance = new();

    public int Compare(string? x, string? y)
    {
        if (ReferenceEquals(x, y)) return 0;
        if (x == null) return -1;
        if (y == null) return 1;
        var a = x.EnumerateRunes();
        var b = y.EnumerateRunes();
        while (true)
        {
            var hasA = a.MoveNext();
            var hasB = b.MoveNext();
            if (!hasA || !hasB) return hasA.CompareTo(hasB);
            var c = a.Current.Value.CompareTo(b.Current.Value);
            if (c != 0) return c;
        }
    }
}
