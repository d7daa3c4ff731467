namespace EfficientFT.Models.Tokenizers;

/// <summary>
/// A tokenizer file could not be read: it is not valid JSON, a required field is missing or has the wrong type, or it
/// names a component (normalizer, pre-tokenizer, model, post-processor, decoder) that this library does not implement.
/// </summary>
public sealed class TokenizerFormatException : Exception
{
    public TokenizerFormatException(string origin, string message, Exception? innerException = null)
        : base($"{origin}: {message}", innerException)
    {
        Origin = origin;
    }

    /// <summary>The file the tokenizer came from, or a description such as "tokenizer JSON text" when there was none.</summary>
    public string Origin { get; }
}
