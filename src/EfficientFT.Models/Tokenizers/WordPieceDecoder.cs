namespace EfficientFT.Models.Tokenizers;

/// <summary>
/// Joins WordPiece tokens: continuation pieces lose their prefix and attach to the previous token, others get a space;
/// with cleanup, the spaces BERT's tokenization put before punctuation and contractions are taken out per token.
/// </summary>
internal sealed class WordPieceDecoder(string prefix, bool cleanup) : ITokenDecoder
{
    public List<string> Decode(List<string> tokens)
    {
        var result = new List<string>(tokens.Count);
        for (var i = 0; i < tokens.Count; i++)
        {
            var token = tokens[i];
            // An empty prefix starts every token, as in tokenizers' decoder: then nothing gets a space.
            if (i != 0)
                token = token.StartsWith(prefix, StringComparison.Ordinal) ? token[prefix.Length..] : " " + token;
            result.Add(cleanup ? Cleanup(token) : token);
        }
        return result;
    }

    /// <summary>HF's <c>cleanup</c>, replacement by replacement in its order.</summary>
    public static string Cleanup(string text) => text
        .Replace(" .", ".", StringComparison.Ordinal)
        .Replace(" ?", "?", StringComparison.Ordinal)
        .Replace(" !", "!", StringComparison.Ordinal)
        .Replace(" ,", ",", StringComparison.Ordinal)
        .Replace(" ' ", "'", StringComparison.Ordinal)
        .Replace(" n't", "n't", StringComparison.Ordinal)
        .Replace(" 'm", "'m", StringComparison.Ordinal)
        .Replace(" do not", " don't", StringComparison.Ordinal)
        .Replace(" 's", "'s", StringComparison.Ordinal)
        .Replace(" 've", "'ve", StringComparison.Ordinal)
        .Replace(" 're", "'re", StringComparison.Ordinal);
}
