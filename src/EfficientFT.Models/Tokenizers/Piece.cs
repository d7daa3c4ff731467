namespace EfficientFT.Models.Tokenizers;

/// <summary>
/// A stretch of normalized text on its way to the model. <paramref name="AtTextStart"/> says whether it begins where
/// the encoded text begins, which Metaspace's <c>prepend_scheme: first</c> needs to know.
/// </summary>
internal readonly record struct Piece(string Text, bool AtTextStart);
