namespace EfficientFT.Models.Tokenizers;

/// <summary>HF's <c>Split</c>: cut at a literal string or a regex, with a delimiter behavior and optional inversion.</summary>
internal sealed class SplitPreTokenizer : IPreTokenizer
{
    private readonly CodePointRegex? _regex;
    private readonly string? _literal;
    private readonly SplitBehavior _behavior;
    private readonly bool _invert;

    private SplitPreTokenizer(CodePointRegex? regex, string? literal, SplitBehavior behavior, bool invert)
    {
        _regex = regex;
        _literal = literal;
        _behavior = behavior;
        _invert = invert;
    }

    public static SplitPreTokenizer ForRegex(CodePointRegex regex, SplitBehavior behavior, bool invert) =>
        new(regex, null, behavior, invert);

    public static SplitPreTokenizer ForLiteral(string literal, SplitBehavior behavior, bool invert) =>
        new(null, literal, behavior, invert);

    public void PreTokenize(Piece piece, List<Piece> output)
    {
        var matches = new List<(int Start, int End)>();
        if (_regex is not null)
            _regex.Matches(piece.Text, matches);
        else
            LiteralMatches(piece.Text, _literal!, matches);
        Splitter.Split(piece, matches, _behavior, _invert, output);
    }

    private static void LiteralMatches(string text, string literal, List<(int Start, int End)> output)
    {
        if (literal.Length == 0)
            return;
        for (var at = text.IndexOf(literal, StringComparison.Ordinal); at >= 0;
             at = text.IndexOf(literal, at + literal.Length, StringComparison.Ordinal))
            output.Add((at, at + literal.Length));
    }
}
