namespace EfficientFT.Models.Hub;

/// <summary>Why a Hub request failed, so callers can react without parsing messages.</summary>
public enum HubErrorKind
{
    /// <summary>HF_HUB_OFFLINE is set and the cache does not hold what was asked for.</summary>
    Offline,

    /// <summary>The server could not be reached and the cache does not hold the file.</summary>
    Network,

    /// <summary>401/403: a private or gated repository without a (valid) HF_TOKEN.</summary>
    Unauthorized,

    /// <summary>404: no such repository, revision or file.</summary>
    NotFound,

    /// <summary>The downloaded bytes do not match the announced size or sha256.</summary>
    Integrity,

    /// <summary>The server answered, but not as the Hub does (missing headers, bad JSON, other HTTP errors).</summary>
    Protocol,

    /// <summary>Another process is downloading the same blob into the cache right now.</summary>
    InProgress,
}
