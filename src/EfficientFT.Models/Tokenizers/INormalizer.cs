namespace EfficientFT.Models.Tokenizers;

/// <summary>Rewrites text before it is split into words (HF's <c>normalizer</c>).</summary>
internal interface INormalizer
{
    string Normalize(string text);
}
