namespace EfficientFT.Models.Hub;

/// <summary>A Hub download or cache lookup failed; <see cref="Kind"/> says why and the message says what to do.</summary>
public sealed class HubException : IOException
{
    public HubException(HubErrorKind kind, string message, Exception? innerException = null)
        : base(message, innerException)
    {
        Kind = kind;
    }

    public HubErrorKind Kind { get; }
}
