namespace EfficientFT.Models.Tokenizers;

/// <summary>BERT's <c>[CLS] A [SEP]</c> and <c>[CLS] A [SEP] B [SEP]</c>, the second segment with type id 1.</summary>
internal sealed class BertPostProcessor(string cls, int clsId, string sep, int sepId) : IPostProcessor
{
    public (int? Before, int? After) SingleSequenceMarkers => (clsId, sepId);

    public int AddedTokens(bool isPair) => isPair ? 3 : 2;

    public List<Encoding> Process(List<Encoding> sequences, bool addSpecialTokens)
    {
        if (!addSpecialTokens)
            return sequences;
        var result = new List<Encoding>
        {
            Encoding.Special([clsId], [cls], 0), sequences[0].WithTypeId(0), Encoding.Special([sepId], [sep], 0),
        };
        if (sequences.Count > 1)
        {
            result.Add(sequences[1].WithTypeId(1));
            result.Add(Encoding.Special([sepId], [sep], 1));
        }
        return result;
    }
}
