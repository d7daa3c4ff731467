namespace EfficientFT.Models.Tokenizers;

/// <summary>How a batch is made rectangular. Padding goes on the right, as Hugging Face pads by default.</summary>
public enum PaddingStrategy
{
    /// <summary>Pad every row to the longest row of the batch.</summary>
    Longest,

    /// <summary>Pad every row to the maximum length.</summary>
    MaxLength,

    /// <summary>No padding; every row must then already have the same length.</summary>
    None,
}
