using System.Globalization;
using System.Text;

namespace EfficientFT.Models.Tokenizers;

/// <summary>
/// Character classes as Hugging Face's tokenizers (Rust) defines them, on code points rather than UTF-16 units so that
/// characters outside the BMP are classified as one character, as Rust's <c>char</c> does.
/// </summary>
internal static class UnicodeChars
{
    /// <summary>Unicode's White_Space property: Rust's <c>char::is_whitespace</c> and its regex <c>\s</c>.</summary>
    public static bool IsWhiteSpace(int cp) => cp switch
    {
        >= 0x09 and <= 0x0D => true,
        0x20 or 0x85 or 0xA0 or 0x1680 => true,
        >= 0x2000 and <= 0x200A => true,
        0x2028 or 0x2029 or 0x202F or 0x205F or 0x3000 => true,
        _ => false,
    };

    public static UnicodeCategory Category(int cp) => CharUnicodeInfo.GetUnicodeCategory(cp);

    public static bool IsPunctuation(int cp) => Category(cp) is UnicodeCategory.ConnectorPunctuation
        or UnicodeCategory.DashPunctuation or UnicodeCategory.OpenPunctuation or UnicodeCategory.ClosePunctuation
        or UnicodeCategory.InitialQuotePunctuation or UnicodeCategory.FinalQuotePunctuation
        or UnicodeCategory.OtherPunctuation;

    /// <summary>
    /// BERT's punctuation: every ASCII symbol (so <c>$</c>, <c>+</c>, <c>^</c> split words even though Unicode calls
    /// them symbols) plus Unicode punctuation.
    /// </summary>
    public static bool IsBertPunctuation(int cp) =>
        cp < 0x80 ? cp is >= 0x21 and <= 0x2F or >= 0x3A and <= 0x40 or >= 0x5B and <= 0x60 or >= 0x7B and <= 0x7E
            : IsPunctuation(cp);

    /// <summary>Rust's <c>char::is_numeric</c>: any of the three number categories.</summary>
    public static bool IsNumeric(int cp) => Category(cp) is UnicodeCategory.DecimalDigitNumber
        or UnicodeCategory.LetterNumber or UnicodeCategory.OtherNumber;

    /// <summary>The word characters of Rust's regex <c>\w</c>, used by added tokens' <c>single_word</c>.</summary>
    public static bool IsWordChar(int cp)
    {
        if (cp is 0x200C or 0x200D)
            return true;
        return Category(cp) is UnicodeCategory.UppercaseLetter or UnicodeCategory.LowercaseLetter
            or UnicodeCategory.TitlecaseLetter or UnicodeCategory.ModifierLetter or UnicodeCategory.OtherLetter
            or UnicodeCategory.NonSpacingMark or UnicodeCategory.SpacingCombiningMark
            or UnicodeCategory.EnclosingMark or UnicodeCategory.DecimalDigitNumber or UnicodeCategory.LetterNumber
            or UnicodeCategory.ConnectorPunctuation;
    }

    /// <summary>
    /// Reads the code point at <paramref name="index"/>. A lone surrogate reads as itself, one unit long, so that text
    /// which is not valid UTF-16 still round-trips instead of being silently rewritten.
    /// </summary>
    public static int CodePointAt(string text, int index, out int length)
    {
        var c = text[index];
        if (char.IsHighSurrogate(c) && index + 1 < text.Length && char.IsLowSurrogate(text[index + 1]))
        {
            length = 2;
            return char.ConvertToUtf32(c, text[index + 1]);
        }
        length = 1;
        return c;
    }

    public static void AppendCodePoint(StringBuilder builder, int cp)
    {
        if (cp < 0x10000)
        {
            builder.Append((char)cp);
            return;
        }
        Span<char> pair = stackalloc char[2];
        builder.Append(pair[..new Rune(cp).EncodeToUtf16(pair)]);
    }

    public static int CodePointCount(string text)
    {
        var count = 0;
        for (var i = 0; i < text.Length; count++)
        {
            CodePointAt(text, i, out var length);
            i += length;
        }
        return count;
    }
}
