using System.Globalization;
using System.Text.RegularExpressions;

namespace EfficientFT.Models.Tokenizers;

/// <summary>
/// A .NET regex that behaves, on text outside the BMP, like the Oniguruma regexes Hugging Face's tokenizers run.
/// .NET matches UTF-16 units, so a surrogate pair is two characters of category Surrogate and <c>\p{L}</c> never matches
/// 𝔘 or 𐍈. Text containing surrogate pairs is therefore matched on a stand-in string where each pair becomes one
/// BMP character of the same general category, and the matches are mapped back.
/// </summary>
internal sealed class CodePointRegex
{
    private static readonly Dictionary<string, Regex> Cache = new(StringComparer.Ordinal);

    private readonly Regex _regex;

    private CodePointRegex(Regex regex) => _regex = regex;

    /// <summary>
    /// Compiles Oniguruma's <paramref name="pattern"/> (<see cref="OnigurumaSyntax"/>) once per process; the tokenizers
    /// that share a pattern share it.
    /// </summary>
    /// <exception cref="ArgumentException">The pattern is not valid regex syntax, or has no .NET equivalent.</exception>
    public static CodePointRegex Get(string pattern)
    {
        lock (Cache)
        {
            if (!Cache.TryGetValue(pattern, out var regex))
            {
                regex = new Regex(OnigurumaSyntax.ToDotNet(pattern), RegexOptions.Compiled | RegexOptions.CultureInvariant);
                Cache[pattern] = regex;
            }
            return new CodePointRegex(regex);
        }
    }

    /// <summary>Appends the (start, end) UTF-16 ranges of every match in <paramref name="text"/>, left to right.</summary>
    public void Matches(string text, List<(int Start, int End)> output)
    {
        var firstSurrogate = text.AsSpan().IndexOfAnyInRange('\uD800', '\uDFFF');
        if (firstSurrogate < 0)
        {
            foreach (var match in _regex.EnumerateMatches(text))
                output.Add((match.Index, match.Index + match.Length));
            return;
        }

        var standIn = new char[text.Length];
        // map[i] is the index in text of stand-in character i; map[length] is text.Length.
        var map = new int[text.Length + 1];
        var n = 0;
        for (var i = 0; i < text.Length;)
        {
            var cp = UnicodeChars.CodePointAt(text, i, out var length);
            map[n] = i;
            standIn[n++] = length == 2 ? StandIn(UnicodeChars.Category(cp)) : text[i];
            i += length;
        }
        map[n] = text.Length;
        foreach (var match in _regex.EnumerateMatches(standIn.AsSpan(0, n)))
            output.Add((map[match.Index], map[match.Index + match.Length]));
    }

    /// <summary>A BMP character of the given category that patterns are unlikely to name literally.</summary>
    private static char StandIn(UnicodeCategory category) => category switch
    {
        UnicodeCategory.UppercaseLetter => '\u0391',
        UnicodeCategory.LowercaseLetter => '\u03B1',
        UnicodeCategory.TitlecaseLetter => '\u01C5',
        UnicodeCategory.ModifierLetter => '\u02B0',
        UnicodeCategory.OtherLetter => '\u05D0',
        UnicodeCategory.NonSpacingMark => '\u0300',
        UnicodeCategory.SpacingCombiningMark => '\u0903',
        UnicodeCategory.EnclosingMark => '\u20DD',
        UnicodeCategory.DecimalDigitNumber => '\u0660',
        UnicodeCategory.LetterNumber => '\u2160',
        UnicodeCategory.OtherNumber => '\u00B2',
        UnicodeCategory.ConnectorPunctuation => '\u203F',
        UnicodeCategory.DashPunctuation => '\u2010',
        UnicodeCategory.OpenPunctuation => '\u2045',
        UnicodeCategory.ClosePunctuation => '\u2046',
        UnicodeCategory.InitialQuotePunctuation => '\u2039',
        UnicodeCategory.FinalQuotePunctuation => '\u203A',
        UnicodeCategory.OtherPunctuation => '\u2042',
        UnicodeCategory.MathSymbol => '\u2200',
        UnicodeCategory.CurrencySymbol => '\u20A0',
        UnicodeCategory.ModifierSymbol => '\u02C2',
        UnicodeCategory.OtherSymbol => '\u2386',
        UnicodeCategory.Format => '\u2060',
        UnicodeCategory.PrivateUse => '\uE000',
        _ => '\u0378',
    };
}
