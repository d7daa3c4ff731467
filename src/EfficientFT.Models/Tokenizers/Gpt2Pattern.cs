using System.Globalization;

namespace EfficientFT.Models.Tokenizers;

/// <summary>
/// GPT-2's pre-tokenization regex compiled by hand. Every tokenizer with a ByteLevel pre-tokenizer (GPT-2, RoBERTa,
/// GPT-J, …) runs it over all its input, and a direct scan is several times faster than the regex engine. It must
/// produce exactly the regex's matches, which the tests check against <see cref="CodePointRegex"/> on random text.
/// </summary>
internal static class Gpt2Pattern
{
    public const string Regex = @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";

    private enum Kind : byte
    {
        Other,
        Letter,
        Number,
        Space,
    }

    private static readonly Kind[] Ascii = BuildAscii();

    /// <summary>Appends the (start, end) UTF-16 range of every match; together they cover the whole text.</summary>
    public static void Matches(string text, List<(int Start, int End)> output)
    {
        for (var i = 0; i < text.Length;)
        {
            var end = MatchAt(text, i);
            output.Add((i, end));
            i = end;
        }
    }

    private static int MatchAt(string text, int i)
    {
        if (text[i] == '\'' && Contraction(text, i + 1) is var length and > 0)
            return i + 1 + length;

        // ` ?\p{L}+`, ` ?\p{N}+` and ` ?[^\s\p{L}\p{N}]+`: an optional plain space, then a run of one class.
        var at = text[i] == ' ' && i + 1 < text.Length ? i + 1 : i;
        var kind = KindAt(text, at, out var width);
        if (kind == Kind.Space && at != i)
            kind = KindAt(text, at = i, out width);
        if (kind != Kind.Space)
        {
            var end = at + width;
            while (end < text.Length && KindAt(text, end, out width) == kind)
                end += width;
            return end;
        }

        // `\s+(?!\S)` takes a whitespace run but gives its last character back to a following word; `\s+` then
        // catches a lone space before a word. White_Space characters are all in the BMP, one unit each.
        var stop = i + 1;
        while (stop < text.Length && KindAt(text, stop, out _) == Kind.Space)
            stop++;
        return stop == text.Length || stop - 1 == i ? stop : stop - 1;
    }

    private static int Contraction(string text, int at)
    {
        var rest = text.AsSpan(at);
        if (rest.Length >= 1 && rest[0] is 's' or 't' or 'm' or 'd')
            return 1;
        if (rest.StartsWith("re") || rest.StartsWith("ve") || rest.StartsWith("ll"))
            return 2;
        return 0;
    }

    private static Kind KindAt(string text, int index, out int width)
    {
        var c = text[index];
        if (c < 0x80)
        {
            width = 1;
            return Ascii[c];
        }
        var cp = UnicodeChars.CodePointAt(text, index, out width);
        if (UnicodeChars.IsWhiteSpace(cp))
            return Kind.Space;
        return UnicodeChars.Category(cp) switch
        {
            UnicodeCategory.UppercaseLetter or UnicodeCategory.LowercaseLetter or UnicodeCategory.TitlecaseLetter
                or UnicodeCategory.ModifierLetter or UnicodeCategory.OtherLetter => Kind.Letter,
            UnicodeCategory.DecimalDigitNumber or UnicodeCategory.LetterNumber or UnicodeCategory.OtherNumber =>
                Kind.Number,
            _ => Kind.Other,
        };
    }

    private static Kind[] BuildAscii()
    {
        var kinds = new Kind[128];
        for (var c = 0; c < 128; c++)
        {
            kinds[c] = UnicodeChars.IsWhiteSpace(c) ? Kind.Space
                : char.IsAsciiLetter((char)c) ? Kind.Letter
                : char.IsAsciiDigit((char)c) ? Kind.Number
                : Kind.Other;
        }
        return kinds;
    }
}
