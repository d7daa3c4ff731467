namespace EfficientFT.Models.Tokenizers;

/// <summary>Applies normalizers in order.</summary>
internal sealed class SequenceNormalizer(IReadOnlyList<INormalizer> steps) : INormalizer
{
    public string Normalize(string text)
    {
        foreach (var step in steps)
            text = step.Normalize(text);
        return text;
    }
}
