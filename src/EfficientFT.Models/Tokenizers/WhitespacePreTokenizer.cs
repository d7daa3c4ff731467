namespace EfficientFT.Models.Tokenizers;

/// <summary>HF's <c>Whitespace</c>: keeps runs of word characters and runs of other non-space characters.</summary>
internal sealed class WhitespacePreTokenizer : IPreTokenizer
{
    // tokenizers' own pattern, read as Oniguruma reads it.
    private static readonly CodePointRegex Words = CodePointRegex.Get(@"\w+|[^\w\s]+");

    public void PreTokenize(Piece piece, List<Piece> output)
    {
        var matches = new List<(int Start, int End)>();
        Words.Matches(piece.Text, matches);
        Splitter.Split(piece, matches, SplitBehavior.Removed, invert: true, output);
    }
}
