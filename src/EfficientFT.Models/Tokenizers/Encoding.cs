namespace EfficientFT.Models.Tokenizers;

/// <summary>
/// One encoded input, as Hugging Face's <c>Encoding</c>: all arrays have one entry per token.
/// </summary>
/// <param name="Ids">Vocabulary ids.</param>
/// <param name="Tokens">The token strings, in the model's alphabet (e.g. "Ġworld", "##ing", "▁the").</param>
/// <param name="TypeIds">Segment ids: 0 for the first sequence, and for BERT-style pairs 1 for the second.</param>
/// <param name="AttentionMask">1 for real tokens, 0 for padding.</param>
/// <param name="SpecialTokensMask">1 for tokens the post-processor or padding added, 0 for tokens from the text.</param>
public sealed record Encoding(int[] Ids, string[] Tokens, int[] TypeIds, int[] AttentionMask, int[] SpecialTokensMask)
{
    public int Length => Ids.Length;

    internal static Encoding FromTokens(List<int> ids, List<string> tokens, int typeId)
    {
        var count = ids.Count;
        var typeIds = new int[count];
        Array.Fill(typeIds, typeId);
        var attention = new int[count];
        Array.Fill(attention, 1);
        return new Encoding(ids.ToArray(), tokens.ToArray(), typeIds, attention, new int[count]);
    }

    internal static Encoding Special(IReadOnlyList<int> ids, IReadOnlyList<string> tokens, int typeId)
    {
        var count = ids.Count;
        var typeIds = new int[count];
        Array.Fill(typeIds, typeId);
        var ones = new int[count];
        Array.Fill(ones, 1);
        return new Encoding(ids.ToArray(), tokens.ToArray(), typeIds, ones, (int[])ones.Clone());
    }

    internal static Encoding Concat(IReadOnlyList<Encoding> parts) =>
        parts.Count == 1 ? parts[0] : new Encoding(
            parts.SelectMany(p => p.Ids).ToArray(),
            parts.SelectMany(p => p.Tokens).ToArray(),
            parts.SelectMany(p => p.TypeIds).ToArray(),
            parts.SelectMany(p => p.AttentionMask).ToArray(),
            parts.SelectMany(p => p.SpecialTokensMask).ToArray());

    internal Encoding WithTypeId(int typeId)
    {
        var typeIds = new int[Length];
        Array.Fill(typeIds, typeId);
        return this with { TypeIds = typeIds };
    }

    /// <summary>The first <paramref name="length"/> tokens: truncation keeps the start, as HF's default direction does.</summary>
    internal Encoding Truncate(int length) => length >= Length ? this : new Encoding(
        Ids[..length], Tokens[..length], TypeIds[..length], AttentionMask[..length], SpecialTokensMask[..length]);

    /// <summary>Right padding to <paramref name="length"/>; padding is special and masked out.</summary>
    internal Encoding Pad(int length, int padId, string padToken)
    {
        var extra = length - Length;
        if (extra <= 0)
            return this;
        return new Encoding(
            [.. Ids, .. Enumerable.Repeat(padId, extra)],
            [.. Tokens, .. Enumerable.Repeat(padToken, extra)],
            [.. TypeIds, .. new int[extra]],
            [.. AttentionMask, .. new int[extra]],
            [.. SpecialTokensMask, .. Enumerable.Repeat(1, extra)]);
    }
}
