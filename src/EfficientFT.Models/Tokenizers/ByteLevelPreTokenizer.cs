namespace EfficientFT.Models.Tokenizers;

/// <summary>
/// GPT-2's pre-tokenizer: optionally a leading space (so the first word is tokenized like any later one), the GPT-2
/// regex split, then every piece rewritten in the byte-level alphabet.
/// </summary>
internal sealed class ByteLevelPreTokenizer(bool addPrefixSpace, bool useRegex) : IPreTokenizer
{
    public void PreTokenize(Piece piece, List<Piece> output)
    {
        var text = piece.Text;
        if (addPrefixSpace && text.Length > 0 && text[0] != ' ')
            text = " " + text;
        if (!useRegex)
        {
            if (text.Length > 0)
                output.Add(piece with { Text = ByteLevelAlphabet.Encode(text) });
            return;
        }

        // The pattern's matches cover the text, so Isolated splitting is just the matches themselves.
        var matches = new List<(int Start, int End)>();
        Gpt2Pattern.Matches(text, matches);
        foreach (var (start, end) in matches)
            output.Add(new Piece(ByteLevelAlphabet.Encode(text.AsSpan(start, end - start)),
                piece.AtTextStart && start == 0));
    }
}
