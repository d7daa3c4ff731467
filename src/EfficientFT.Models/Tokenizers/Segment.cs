namespace EfficientFT.Models.Tokenizers;

/// <summary>
/// A stretch of the input after added tokens have been cut out: either an added token (<paramref name="TokenId"/> ≥ 0,
/// <paramref name="Text"/> as matched) or normalized text for the pre-tokenizer and model.
/// </summary>
internal readonly record struct Segment(string Text, int TokenId, bool AtTextStart);
