namespace EfficientFT.Models.Tokenizers;

/// <summary>
/// BERT's basic tokenizer: whitespace separates words and is dropped; each punctuation mark is a word of its own.
/// One scan does what HF does in two splits (whitespace removed, then punctuation isolated).
/// </summary>
internal sealed class BertPreTokenizer : IPreTokenizer
{
    public void PreTokenize(Piece piece, List<Piece> output)
    {
        var text = piece.Text;
        var wordStart = 0;
        for (var i = 0; i < text.Length;)
        {
            var cp = UnicodeChars.CodePointAt(text, i, out var length);
            var space = UnicodeChars.IsWhiteSpace(cp);
            if (space || UnicodeChars.IsBertPunctuation(cp))
            {
                Emit(piece, wordStart, i, output);
                if (!space)
                    Emit(piece, i, i + length, output);
                wordStart = i + length;
            }
            i += length;
        }
        Emit(piece, wordStart, text.Length, output);
    }

    private static void Emit(Piece piece, int start, int end, List<Piece> output)
    {
        if (start < end)
            output.Add(new Piece(start == 0 && end == piece.Text.Length ? piece.Text : piece.Text[start..end],
                piece.AtTextStart && start == 0));
    }
}
