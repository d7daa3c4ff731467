namespace EfficientFT.Models;

/// <summary>
/// A rectangular batch of token ids, B rows of T tokens, row-major, with its attention mask (1 = token, 0 = pad)
/// and optional labels: one class or value per row for sequence classification or regression, one probability per
/// class per row for multi-label classification, or one target per token (−100 = ignored) for language modelling.
/// </summary>
public sealed record ModelBatch(int Batch, int Length, int[] InputIds, int[] AttentionMask)
{
    public int[]? ClassLabels { get; init; }

    public float[]? RegressionLabels { get; init; }

    /// <summary>Multi-label targets, B rows of C class probabilities (multi-hot: 1 where the class applies), row-major.</summary>
    public float[]? MultiHotLabels { get; init; }

    public int[]? TokenLabels { get; init; }

    public int[] Shape => [Batch, Length];

    /// <summary>The rows at <paramref name="rows"/>, in that order, as a batch of their own.</summary>
    public ModelBatch Select(IReadOnlyList<int> rows) => Take(rows, Length);

    /// <summary>
    /// <see cref="Select"/>, then drops the trailing columns that are padding in every selected row, so a batch is only
    /// as wide as its longest row. For right-padded rows this changes no logit and no loss: padded positions are masked
    /// out of attention and come after every real token. Token labels in a dropped column must be ignored ones (−100).
    /// </summary>
    public ModelBatch SelectTrimmed(IReadOnlyList<int> rows)
    {
        var width = 1;
        foreach (var r in rows) width = Math.Max(width, AttentionMask.AsSpan(r * Length, Length).LastIndexOfAnyExcept(0) + 1);
        if (TokenLabels != null && rows.Any(r => TokenLabels.AsSpan(r * Length + width, Length - width).ContainsAnyExcept(-100)))
            width = Length;
        return Take(rows, width);
    }

    /// <summary>The rows at <paramref name="rows"/>, each cut to its first <paramref name="width"/> tokens, with their labels.</summary>
    private ModelBatch Take(IReadOnlyList<int> rows, int width)
    {
        T[]? Rows<T>(T[]? source, int stride, int count) =>
            source == null ? null : rows.SelectMany(r => source.AsSpan(r * stride, count).ToArray()).ToArray();
        var classes = MultiHotLabels == null ? 0 : MultiHotLabels.Length / Batch;
        return new ModelBatch(rows.Count, width, Rows(InputIds, Length, width)!, Rows(AttentionMask, Length, width)!)
        {
            ClassLabels = Rows(ClassLabels, 1, 1),
            RegressionLabels = Rows(RegressionLabels, 1, 1),
            MultiHotLabels = Rows(MultiHotLabels, classes, classes),
            TokenLabels = Rows(TokenLabels, Length, width),
        };
    }

    /// <summary>Checks sizes up front so a malformed batch fails with its shape in the message.</summary>
    public void Validate()
    {
        if (Batch <= 0 || Length <= 0) throw new ArgumentException($"Batch of {Batch}×{Length} tokens is empty.");
        if (InputIds.Length != Batch * Length || AttentionMask.Length != Batch * Length)
            throw new ArgumentException($"Batch {Batch}×{Length}: {InputIds.Length} input ids and {AttentionMask.Length} mask entries, expected {Batch * Length} each.");
        if (ClassLabels != null && ClassLabels.Length != Batch)
            throw new ArgumentException($"Batch {Batch}×{Length}: {ClassLabels.Length} class labels, expected {Batch}.");
        if (RegressionLabels != null && RegressionLabels.Length != Batch)
            throw new ArgumentException($"Batch {Batch}×{Length}: {RegressionLabels.Length} regression labels, expected {Batch}.");
        if (MultiHotLabels != null && (MultiHotLabels.Length == 0 || MultiHotLabels.Length % Batch != 0))
            throw new ArgumentException($"Batch {Batch}×{Length}: {MultiHotLabels.Length} multi-label targets, not the same number of classes for each of {Batch} rows.");
        if (TokenLabels != null && TokenLabels.Length != Batch * Length)
            throw new ArgumentException($"Batch {Batch}×{Length}: {TokenLabels.Length} token labels, expected {Batch * Length}.");
    }
}
