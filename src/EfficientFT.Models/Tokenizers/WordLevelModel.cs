namespace EfficientFT.Models.Tokenizers;

/// <summary>One token per word: the word's id, or the unknown token.</summary>
internal sealed class WordLevelModel(Vocabulary vocabulary, string unknownToken) : ITokenizerModel
{
    public Vocabulary Vocabulary { get; } = vocabulary;

    public string? UnknownToken => unknownToken;

    public void Tokenize(string word, List<int> ids, List<string> tokens)
    {
        if (Vocabulary.TryGetId(word, out var id))
        {
            ids.Add(id);
            tokens.Add(Vocabulary.TokenOf(id)!);
            return;
        }
        if (!Vocabulary.TryGetId(unknownToken, out id))
            throw new InvalidOperationException($"WordLevel: the unknown token '{unknownToken}' is not in the vocabulary.");
        ids.Add(id);
        tokens.Add(unknownToken);
    }
}
