namespace EfficientFT.Models.Tokenizers;

/// <summary>Runs post-processors in order (LLaMA 3 pairs a ByteLevel offset trimmer with its template).</summary>
internal sealed class SequencePostProcessor(IReadOnlyList<IPostProcessor> steps) : IPostProcessor
{
    public (int? Before, int? After) SingleSequenceMarkers
    {
        get
        {
            var markers = steps.Select(s => s.SingleSequenceMarkers).ToList();
            return (markers.Select(m => m.Before).LastOrDefault(m => m is not null),
                markers.Select(m => m.After).LastOrDefault(m => m is not null));
        }
    }

    public int AddedTokens(bool isPair) => steps.Sum(s => s.AddedTokens(isPair));

    public List<Encoding> Process(List<Encoding> sequences, bool addSpecialTokens)
    {
        foreach (var step in steps)
            sequences = step.Process(sequences, addSpecialTokens);
        return sequences;
    }
}
