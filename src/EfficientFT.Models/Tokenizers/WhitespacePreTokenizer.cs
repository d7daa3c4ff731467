namespace EfficientFT.Models.Tokenizers;

/// <summary>HF's <c>Whitespace</c>: keeps runs of word characters and runs of other non-space characters.</summary>
internal sealed class WhitespacePreTokenizer : IPreTokenizer
{
    // Spelled out rather than \w because .NET's \w lacks the spacing and enclosing marks that Oniguruma's includes.
    private static readonly CodePointRegex Words =
        CodePointRegex.Get(@"[\p{L}\p{M}\p{Nd}\p{Pc}]+|[^\p{L}\p{M}\p{Nd}\p{Pc}\s]+");

    public void PreTokenize(Piece piece, List<Piece> output)
    {
        var matches = new List<(int Start, int End)>();
        Words.Matches(piece.Text, matches);
        Splitter.Split(piece, matches, SplitBehavior.Removed, invert: true, output);
    }
}
