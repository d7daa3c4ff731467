namespace EfficientFT.Models.Tokenizers;

/// <summary>
/// SentencePiece-style word marking: spaces become the replacement character (▁), one is prepended to the text
/// according to the prepend scheme, and each ▁ starts a new word.
/// </summary>
internal sealed class MetaspacePreTokenizer(char replacement, PrependScheme prependScheme, bool split) : IPreTokenizer
{
    public void PreTokenize(Piece piece, List<Piece> output)
    {
        var text = piece.Text.Replace(' ', replacement);
        var prepend = prependScheme == PrependScheme.Always
            || (prependScheme == PrependScheme.First && piece.AtTextStart);
        if (prepend && text.Length > 0 && text[0] != replacement)
            text = replacement + text;
        var replaced = piece with { Text = text };
        if (split)
            Splitter.SplitOnCodePoints(replaced, cp => cp == replacement, SplitBehavior.MergedWithNext, output);
        else if (text.Length > 0)
            output.Add(replaced);
    }
}
