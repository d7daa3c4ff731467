namespace EfficientFT.Models.Tokenizers;

/// <summary>
/// HF's <c>TemplateProcessing</c>: a single and a pair template made of special tokens and the sequences A and B,
/// each piece with its type id. Type ids follow the template even when special tokens are not added.
/// </summary>
internal sealed class TemplatePostProcessor(
    IReadOnlyList<TemplatePiece> single,
    IReadOnlyList<TemplatePiece> pair,
    IReadOnlyDictionary<string, (int[] Ids, string[] Tokens)> specialTokens) : IPostProcessor
{
    public (int? Before, int? After) SingleSequenceMarkers
    {
        get
        {
            var a = single.ToList().FindIndex(p => p.SpecialToken is null && p.Sequence == 0);
            return a < 0 ? (null, null) : (Marker(a - 1, ids => ids[^1]), Marker(a + 1, ids => ids[0]));
        }
    }

    private int? Marker(int index, Func<int[], int> pick) =>
        index >= 0 && index < single.Count && single[index].SpecialToken is { } name
            && specialTokens[name].Ids.Length > 0 ? pick(specialTokens[name].Ids) : null;

    public int AddedTokens(bool isPair) =>
        (isPair ? pair : single).Where(p => p.SpecialToken is not null)
            .Sum(p => specialTokens[p.SpecialToken!].Ids.Length);

    public List<Encoding> Process(List<Encoding> sequences, bool addSpecialTokens)
    {
        var template = sequences.Count > 1 ? pair : single;
        var result = new List<Encoding>();
        foreach (var piece in template)
        {
            if (piece.SpecialToken is { } name)
            {
                if (addSpecialTokens)
                {
                    var (ids, tokens) = specialTokens[name];
                    result.Add(Encoding.Special(ids, tokens, piece.TypeId));
                }
            }
            else if (piece.Sequence < sequences.Count)
            {
                result.Add(sequences[piece.Sequence].WithTypeId(piece.TypeId));
            }
        }
        return result;
    }
}
