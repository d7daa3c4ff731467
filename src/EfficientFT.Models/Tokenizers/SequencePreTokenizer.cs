namespace EfficientFT.Models.Tokenizers;

/// <summary>Runs pre-tokenizers one after another, each on every piece the previous one produced.</summary>
internal sealed class SequencePreTokenizer(IReadOnlyList<IPreTokenizer> steps) : IPreTokenizer
{
    public void PreTokenize(Piece piece, List<Piece> output)
    {
        var current = new List<Piece> { piece };
        var next = new List<Piece>();
        foreach (var step in steps)
        {
            next.Clear();
            foreach (var p in current)
                step.PreTokenize(p, next);
            (current, next) = (next, current);
        }
        output.AddRange(current);
    }
}
