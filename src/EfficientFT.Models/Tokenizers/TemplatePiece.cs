namespace EfficientFT.Models.Tokenizers;

/// <summary>
/// One element of a processing template: either the special token named <paramref name="SpecialToken"/> or, when that
/// is null, sequence <paramref name="Sequence"/> (0 for A, 1 for B).
/// </summary>
internal sealed record TemplatePiece(string? SpecialToken, int Sequence, int TypeId);
