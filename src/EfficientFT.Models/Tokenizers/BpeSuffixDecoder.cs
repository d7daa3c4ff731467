namespace EfficientFT.Models.Tokenizers;

/// <summary>HF's <c>BPEDecoder</c>: an end-of-word suffix becomes a space, except after the last token.</summary>
internal sealed class BpeSuffixDecoder(string suffix) : ITokenDecoder
{
    public List<string> Decode(List<string> tokens)
    {
        var result = new List<string>(tokens.Count);
        for (var i = 0; i < tokens.Count; i++)
            result.Add(suffix.Length == 0 ? tokens[i]
                : tokens[i].Replace(suffix, i == tokens.Count - 1 ? "" : " ", StringComparison.Ordinal));
        return result;
    }
}
