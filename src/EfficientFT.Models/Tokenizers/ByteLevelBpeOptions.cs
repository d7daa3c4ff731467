namespace EfficientFT.Models.Tokenizers;

/// <summary>Settings for a GPT-2 style tokenizer built from vocab.json and merges.txt.</summary>
/// <param name="AddPrefixSpace">
/// Put a space before text that does not start with one, so the first word is tokenized like any other
/// (RoBERTa's <c>add_prefix_space</c>); GPT-2 itself does not.
/// </param>
/// <param name="SpecialTokens">
/// Tokens matched whole in the raw text before BPE, and skipped when decoding with special tokens skipped, such as
/// "&lt;|endoftext|&gt;". One missing from vocab.json gets the next free id.
/// </param>
public sealed record ByteLevelBpeOptions(bool AddPrefixSpace = false, IReadOnlyList<string>? SpecialTokens = null);
