namespace EfficientFT.Models.Tokenizers;

/// <summary>Puts a fixed string in front of non-empty text (LLaMA and Mistral prepend ▁ this way).</summary>
internal sealed class PrependNormalizer(string prefix) : INormalizer
{
    public string Normalize(string text) => text.Length == 0 ? text : prefix + text;
}
