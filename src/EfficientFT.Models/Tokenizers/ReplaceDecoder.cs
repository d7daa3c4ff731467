namespace EfficientFT.Models.Tokenizers;

/// <summary>Applies a replacement to each token (LLaMA's decoders turn ▁ back into spaces this way).</summary>
internal sealed class ReplaceDecoder(ReplaceNormalizer replacement) : ITokenDecoder
{
    public List<string> Decode(List<string> tokens) => tokens.ConvertAll(replacement.Normalize);
}
