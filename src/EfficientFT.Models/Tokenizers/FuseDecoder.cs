namespace EfficientFT.Models.Tokenizers;

/// <summary>Concatenates all tokens into one, so that a following Strip acts on the whole text.</summary>
internal sealed class FuseDecoder : ITokenDecoder
{
    public List<string> Decode(List<string> tokens) => [string.Concat(tokens)];
}
