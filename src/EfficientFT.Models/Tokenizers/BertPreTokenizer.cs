namespace EfficientFT.Models.Tokenizers;

/// <summary>BERT's basic tokenizer: whitespace separates words and is dropped; each punctuation mark is a word.</summary>
internal sealed class BertPreTokenizer : IPreTokenizer
{
    public void PreTokenize(Piece piece, List<Piece> output)
    {
        var words = new List<Piece>();
        Splitter.SplitOnCodePoints(piece, UnicodeChars.IsWhiteSpace, SplitBehavior.Removed, words);
        foreach (var word in words)
            Splitter.SplitOnCodePoints(word, UnicodeChars.IsBertPunctuation, SplitBehavior.Isolated, output);
    }
}
