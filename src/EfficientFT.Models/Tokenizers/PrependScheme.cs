namespace EfficientFT.Models.Tokenizers;

/// <summary>When Metaspace puts a ▁ in front of a piece: always, only at the very start of the text, or never.</summary>
internal enum PrependScheme
{
    Always,
    First,
    Never,
}
