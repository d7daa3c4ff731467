namespace EfficientFT.Models.Tokenizers;

/// <summary>Turns one pre-tokenized word into vocabulary ids (HF's <c>model</c>: BPE, WordPiece, WordLevel).</summary>
internal interface ITokenizerModel
{
    Vocabulary Vocabulary { get; }

    /// <summary>The token the model emits for text it cannot represent, if it has one.</summary>
    string? UnknownToken { get; }

    /// <summary>Appends the ids and token strings for <paramref name="word"/>, which is never empty.</summary>
    void Tokenize(string word, List<int> ids, List<string> tokens);
}
