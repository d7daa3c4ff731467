namespace EfficientFT.Models.Tokenizers;

/// <summary>Applies decoder steps in order.</summary>
internal sealed class SequenceDecoder(IReadOnlyList<ITokenDecoder> steps) : ITokenDecoder
{
    public List<string> Decode(List<string> tokens)
    {
        foreach (var step in steps)
            tokens = step.Decode(tokens);
        return tokens;
    }
}
