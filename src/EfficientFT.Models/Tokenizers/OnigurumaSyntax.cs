using System.Text;

namespace EfficientFT.Models.Tokenizers;

/// <summary>
/// tokenizer.json's regexes are Oniguruma's (the engine Hugging Face's tokenizers runs, with its default Ruby
/// syntax); where .NET reads the same text otherwise, the pattern is rewritten into the .NET spelling of Oniguruma's
/// meaning. Constructs that have none are refused, since .NET would run them as something else. In Ruby syntax ^ and
/// $ anchor at every line: the .NET pattern starts with (?m), which Ruby's own m option can no longer mean, as it is
/// rewritten to .NET's s.
/// </summary>
internal static class OnigurumaSyntax
{
    /// <summary>
    /// Oniguruma's Unicode \w, as its make_unicode_property_data.py builds it: Alphabetic, Mark, Decimal_Number and
    /// Connector_Punctuation. Alphabetic is the letters, the letter numbers and the Other_Alphabetic characters, which
    /// are marks except the circled letters Ⓐ–ⓩ and, outside the BMP, the squared and negative circled ones (those
    /// reach the regex as a stand-in of their category, So, and are missed). .NET's own \w lacks the spacing and
    /// enclosing marks (Devanagari's vowel signs split words) and the letter numbers.
    /// </summary>
    public const string WordCharacters = @"\p{L}\p{Nl}\p{M}\p{Nd}\p{Pc}\u24B6-\u24E9";

    private const string HexDigits = "0-9a-fA-F";

    /// <summary>A word boundary and a non-boundary by Oniguruma's word characters; .NET's \b uses its own, narrower set.</summary>
    private const string WordBoundary = $"(?:(?<=[{WordCharacters}])(?![{WordCharacters}])|(?<![{WordCharacters}])(?=[{WordCharacters}]))";

    private const string NotWordBoundary = $"(?:(?<=[{WordCharacters}])(?=[{WordCharacters}])|(?<![{WordCharacters}])(?![{WordCharacters}]))";

    /// <summary>The .NET pattern that matches what <paramref name="pattern"/> matches in Oniguruma.</summary>
    /// <exception cref="ArgumentException">The pattern uses Oniguruma syntax with no .NET equivalent here.</exception>
    public static string ToDotNet(string pattern)
    {
        var result = new StringBuilder(pattern.Length + 16).Append("(?m)");
        // 0 outside a character class; n inside n nested ones, of which only the outermost is written.
        var depth = 0;
        for (var i = 0; i < pattern.Length; i++)
        {
            var c = pattern[i];
            if (c == '\\' && i + 1 < pattern.Length)
            {
                var e = pattern[++i];
                switch (e)
                {
                    case 'w' or 'h':
                        var set = e == 'w' ? WordCharacters : HexDigits;
                        result.Append(depth > 0 ? set : $"[{set}]");
                        break;
                    case 'W' or 'H' when depth == 0:
                        result.Append($"[^{(e == 'W' ? WordCharacters : HexDigits)}]");
                        break;
                    case 'W' or 'H':
                        throw new ArgumentException($"\\{e} inside a character class has no .NET spelling here.");
                    // Inside a class \b is a backspace in both engines.
                    case 'b' when depth == 0:
                        result.Append(WordBoundary);
                        break;
                    case 'B' when depth == 0:
                        result.Append(NotWordBoundary);
                        break;
                    default:
                        result.Append(c).Append(e);
                        break;
                }
                continue;
            }
            if (c == '[')
            {
                var negated = i + 1 < pattern.Length && pattern[i + 1] == '^';
                if (depth > 0 && i + 1 < pattern.Length && pattern[i + 1] == ':')
                    throw new ArgumentException("POSIX bracket expressions ([:alpha:]) have no .NET spelling here.");
                if (depth > 0 && negated)
                    throw new ArgumentException("a negated character class inside a character class has no .NET spelling here.");
                // Oniguruma unites a class nested in a class with it; .NET would read its '[' as a literal.
                if (depth == 0) result.Append(c);
                depth++;
                var start = i + (negated ? 2 : 1);
                if (depth == 1 && negated) result.Append('^');
                i = start - 1;
                // A ']' first in a class is a literal in both engines.
                if (start < pattern.Length && pattern[start] == ']')
                {
                    result.Append(@"\]");
                    i = start;
                }
                continue;
            }
            if (c == ']' && depth > 0)
            {
                depth--;
                if (depth == 0) result.Append(c);
                continue;
            }
            if (c == '&' && depth > 0 && i + 1 < pattern.Length && pattern[i + 1] == '&')
                throw new ArgumentException("character class intersection (&&) has no .NET spelling here.");
            if (depth == 0 && c == '(' && InlineOptions(pattern, i) is { Length: > 0 } options)
            {
                // Ruby's m option is "dot matches newline", .NET's s; .NET's m would change the anchors instead.
                result.Append("(?").Append(options.Replace('m', 's'));
                i += 1 + options.Length;
                continue;
            }
            // Ruby reads {,n} as {0,n}; .NET would match the text "{,n}".
            if (depth == 0 && c == '{' && i + 1 < pattern.Length && pattern[i + 1] == ',' && QuantifierEnd(pattern, i + 2) > i + 2)
            {
                result.Append("{0");
                continue;
            }
            result.Append(c);
        }
        return result.ToString();
    }

    /// <summary>The option letters of an inline group "(?imx-imx)" or "(?imx-imx:" starting at <paramref name="open"/>; empty otherwise.</summary>
    private static string InlineOptions(string pattern, int open)
    {
        if (open + 2 >= pattern.Length || pattern[open + 1] != '?') return "";
        var end = open + 2;
        while (end < pattern.Length && pattern[end] is 'i' or 'm' or 'x' or '-') end++;
        return end > open + 2 && end < pattern.Length && pattern[end] is ')' or ':' ? pattern[(open + 2)..end] : "";
    }

    /// <summary>The index of the '}' closing digits that start at <paramref name="from"/>, or <paramref name="from"/> when there is none.</summary>
    private static int QuantifierEnd(string pattern, int from)
    {
        var end = from;
        while (end < pattern.Length && char.IsAsciiDigit(pattern[end])) end++;
        return end > from && end < pattern.Length && pattern[end] == '}' ? end : from;
    }
}
