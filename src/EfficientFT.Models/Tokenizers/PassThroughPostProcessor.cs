namespace EfficientFT.Models.Tokenizers;

/// <summary>
/// Adds nothing: what a missing post-processor does, and what HF's ByteLevel post-processor does to ids (it only trims
/// offsets, which this library does not track).
/// </summary>
internal sealed class PassThroughPostProcessor : IPostProcessor
{
    public int AddedTokens(bool isPair) => 0;

    public (int? Before, int? After) SingleSequenceMarkers => (null, null);

    public List<Encoding> Process(List<Encoding> sequences, bool addSpecialTokens) => sequences;
}
