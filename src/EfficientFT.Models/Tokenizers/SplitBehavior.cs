namespace EfficientFT.Models.Tokenizers;

/// <summary>What a splitting pre-tokenizer does with the delimiters it finds (Hugging Face's names).</summary>
internal enum SplitBehavior
{
    Removed,
    Isolated,
    MergedWithPrevious,
    MergedWithNext,
    Contiguous,
}
