using System.Globalization;
using System.Text;

namespace EfficientFT.Models.Tokenizers;

/// <summary>
/// BERT's text cleaning, in HF's order: drop control characters and map every whitespace to a space, put spaces around
/// CJK ideographs so each becomes a word, strip accents (NFD, then drop non-spacing marks), lowercase.
/// </summary>
internal sealed class BertNormalizer(bool cleanText, bool handleChineseChars, bool stripAccents, bool lowercase)
    : INormalizer
{
    public string Normalize(string text)
    {
        if (cleanText)
            text = Clean(text);
        if (handleChineseChars)
            text = SpaceOutIdeographs(text);
        if (stripAccents)
            text = UnicodeNormalization.StripNonSpacingMarks(text);
        if (lowercase)
            text = LowercaseNormalizer.Lower(text);
        return text;
    }

    private static string Clean(string text)
    {
        if (!text.AsSpan().ContainsAnyExceptInRange(' ', '~'))
            return text;
        var builder = new StringBuilder(text.Length);
        for (var i = 0; i < text.Length;)
        {
            var cp = UnicodeChars.CodePointAt(text, i, out var length);
            // Removal is decided first, so control characters that are also whitespace (U+0085, vertical tab, form
            // feed) disappear rather than becoming spaces.
            if (cp != 0 && cp != 0xFFFD && !IsControl(cp))
            {
                if (UnicodeChars.IsWhiteSpace(cp))
                    builder.Append(' ');
                else
                    builder.Append(text, i, length);
            }
            i += length;
        }
        return builder.ToString();
    }

    /// <summary>
    /// Categories Cc, Cf and Co, which is what HF's <c>is_other</c> covers (unassigned code points are kept); tab,
    /// newline and carriage return count as whitespace instead.
    /// </summary>
    private static bool IsControl(int cp) => cp is not ('\t' or '\n' or '\r') && UnicodeChars.Category(cp)
        is UnicodeCategory.Control or UnicodeCategory.Format or UnicodeCategory.PrivateUse;

    private static string SpaceOutIdeographs(string text)
    {
        StringBuilder? builder = null;
        for (var i = 0; i < text.Length;)
        {
            var cp = UnicodeChars.CodePointAt(text, i, out var length);
            if (IsCjkIdeograph(cp))
            {
                builder ??= new StringBuilder(text.Length + 16).Append(text, 0, i);
                builder.Append(' ').Append(text, i, length).Append(' ');
            }
            else
            {
                builder?.Append(text, i, length);
            }
            i += length;
        }
        return builder?.ToString() ?? text;
    }

    /// <summary>The CJK Unified Ideographs blocks; Hangul, Hiragana and Katakana are written with spaces already.</summary>
    private static bool IsCjkIdeograph(int cp) => cp is >= 0x4E00 and <= 0x9FFF or >= 0x3400 and <= 0x4DBF
        or >= 0x20000 and <= 0x2A6DF or >= 0x2A700 and <= 0x2B73F or >= 0x2B740 and <= 0x2B81F
        or >= 0x2B920 and <= 0x2CEAF or >= 0xF900 and <= 0xFAFF or >= 0x2F800 and <= 0x2FA1F;
}
