namespace EfficientFT.Models.Tokenizers;

/// <summary>
/// GPT-2's pre-tokenizer: optionally a leading space (so the first word is tokenized like any later one), the GPT-2
/// regex split, then every piece rewritten in the byte-level alphabet.
/// </summary>
internal sealed class ByteLevelPreTokenizer : IPreTokenizer
{
    public const string Gpt2Pattern = @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";

    private readonly bool _addPrefixSpace;
    private readonly CodePointRegex? _regex;

    public ByteLevelPreTokenizer(bool addPrefixSpace, bool useRegex)
    {
        _addPrefixSpace = addPrefixSpace;
        _regex = useRegex ? CodePointRegex.Get(Gpt2Pattern) : null;
    }

    public void PreTokenize(Piece piece, List<Piece> output)
    {
        var text = piece.Text;
        if (_addPrefixSpace && text.Length > 0 && text[0] != ' ')
            piece = piece with { Text = " " + text };
        if (_regex is null)
        {
            if (piece.Text.Length > 0)
                output.Add(piece with { Text = ByteLevelAlphabet.Encode(piece.Text) });
            return;
        }

        var matches = new List<(int Start, int End)>();
        _regex.Matches(piece.Text, matches);
        var first = output.Count;
        Splitter.Split(piece, matches, SplitBehavior.Isolated, invert: false, output);
        for (var i = first; i < output.Count; i++)
            output[i] = output[i] with { Text = ByteLevelAlphabet.Encode(output[i].Text) };
    }
}
