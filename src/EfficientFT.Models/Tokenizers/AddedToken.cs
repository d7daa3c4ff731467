namespace EfficientFT.Models.Tokenizers;

/// <summary>An entry of tokenizer.json's <c>added_tokens</c>: text matched whole, before normalization or after it.</summary>
/// <param name="Special">Skipped when decoding with special tokens skipped.</param>
/// <param name="SingleWord">Only matched when not inside a word.</param>
/// <param name="LeftStrip">Absorbs the whitespace before it.</param>
/// <param name="RightStrip">Absorbs the whitespace after it.</param>
/// <param name="Normalized">Matched in normalized text rather than in the raw input.</param>
internal sealed record AddedToken(
    int Id, string Content, bool Special, bool SingleWord, bool LeftStrip, bool RightStrip, bool Normalized);
