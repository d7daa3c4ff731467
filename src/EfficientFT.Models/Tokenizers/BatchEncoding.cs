namespace EfficientFT.Models.Tokenizers;

/// <summary>
/// A batch of encodings padded to one length, with the model inputs laid out row-major as
/// [<see cref="BatchSize"/>, <see cref="SequenceLength"/>], ready to become tensors.
/// </summary>
public sealed class BatchEncoding
{
    internal BatchEncoding(IReadOnlyList<Encoding> encodings, int sequenceLength)
    {
        Encodings = encodings;
        SequenceLength = sequenceLength;
        var size = encodings.Count * sequenceLength;
        Ids = new int[size];
        AttentionMask = new int[size];
        TypeIds = new int[size];
        SpecialTokensMask = new int[size];
        for (var row = 0; row < encodings.Count; row++)
        {
            var e = encodings[row];
            var at = row * sequenceLength;
            e.Ids.CopyTo(Ids, at);
            e.AttentionMask.CopyTo(AttentionMask, at);
            e.TypeIds.CopyTo(TypeIds, at);
            e.SpecialTokensMask.CopyTo(SpecialTokensMask, at);
        }
    }

    /// <summary>The rows, each already truncated and padded.</summary>
    public IReadOnlyList<Encoding> Encodings { get; }

    public int BatchSize => Encodings.Count;

    public int SequenceLength { get; }

    public int[] Ids { get; }

    public int[] AttentionMask { get; }

    public int[] TypeIds { get; }

    public int[] SpecialTokensMask { get; }
}
