namespace EfficientFT.Models.Tokenizers;

/// <summary>
/// The pre-tokenizers that cut at single characters of a class: WhitespaceSplit, Punctuation, Digits and
/// CharDelimiterSplit.
/// </summary>
internal sealed class CodePointPreTokenizer(Func<int, bool> isDelimiter, SplitBehavior behavior) : IPreTokenizer
{
    public static CodePointPreTokenizer WhitespaceSplit() => new(UnicodeChars.IsWhiteSpace, SplitBehavior.Removed);

    public static CodePointPreTokenizer Punctuation(SplitBehavior behavior) =>
        new(UnicodeChars.IsBertPunctuation, behavior);

    public static CodePointPreTokenizer Digits(bool individualDigits) =>
        new(UnicodeChars.IsNumeric, individualDigits ? SplitBehavior.Isolated : SplitBehavior.Contiguous);

    public static CodePointPreTokenizer CharDelimiter(int delimiter) =>
        new(cp => cp == delimiter, SplitBehavior.Removed);

    public void PreTokenize(Piece piece, List<Piece> output) =>
        Splitter.SplitOnCodePoints(piece, isDelimiter, behavior, output);
}
