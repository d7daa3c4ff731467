using System.Globalization;
using System.Text;

namespace EfficientFT.Models.Tokenizers;

/// <summary>HF's <c>StripAccents</c>: removes every combining mark; usually placed after NFD.</summary>
internal sealed class StripAccentsNormalizer : INormalizer
{
    public string Normalize(string text)
    {
        var builder = new StringBuilder(text.Length);
        for (var i = 0; i < text.Length;)
        {
            var cp = UnicodeChars.CodePointAt(text, i, out var length);
            if (UnicodeChars.Category(cp) is not (UnicodeCategory.NonSpacingMark or UnicodeCategory.SpacingCombiningMark
                or UnicodeCategory.EnclosingMark))
                builder.Append(text, i, length);
            i += length;
        }
        return builder.ToString();
    }
}
