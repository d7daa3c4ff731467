namespace EfficientFT.Models.Tokenizers;

/// <summary>
/// One step of turning token strings back into text (HF's <c>decoder</c>). Steps map a token list to a token list
/// so that they chain; the decoded text is the final list concatenated.
/// </summary>
internal interface ITokenDecoder
{
    List<string> Decode(List<string> tokens);
}
