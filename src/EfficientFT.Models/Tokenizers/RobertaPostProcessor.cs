namespace EfficientFT.Models.Tokenizers;

/// <summary>
/// RoBERTa's <c>&lt;s&gt; A &lt;/s&gt;</c> and <c>&lt;s&gt; A &lt;/s&gt;&lt;/s&gt; B &lt;/s&gt;</c>. RoBERTa has no
/// segment embeddings, so every type id is 0, with or without special tokens.
/// </summary>
internal sealed class RobertaPostProcessor(string cls, int clsId, string sep, int sepId) : IPostProcessor
{
    public (int? Before, int? After) SingleSequenceMarkers => (clsId, sepId);

    public int AddedTokens(bool isPair) => isPair ? 4 : 2;

    public List<Encoding> Process(List<Encoding> sequences, bool addSpecialTokens)
    {
        var zeroed = sequences.ConvertAll(s => s.WithTypeId(0));
        if (!addSpecialTokens)
            return zeroed;
        var result = new List<Encoding>
        {
            Encoding.Special([clsId], [cls], 0), zeroed[0], Encoding.Special([sepId], [sep], 0),
        };
        if (zeroed.Count > 1)
        {
            result.Add(Encoding.Special([sepId], [sep], 0));
            result.Add(zeroed[1]);
            result.Add(Encoding.Special([sepId], [sep], 0));
        }
        return result;
    }
}
