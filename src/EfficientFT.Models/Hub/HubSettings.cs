namespace EfficientFT.Models.Hub;

/// <summary>Where the Hub is, who is asking, and where files are cached.</summary>
public sealed record HubSettings
{
    public const string DefaultEndpoint = "https://huggingface.co";

    /// <summary>The Hub's base URL, without a trailing slash (HF_ENDPOINT).</summary>
    public string Endpoint { get; init; } = DefaultEndpoint;

    /// <summary>Sent as <c>Authorization: Bearer</c> (HF_TOKEN, or the token file huggingface-cli login writes).</summary>
    public string? Token { get; init; }

    /// <summary>The cache root holding <c>models--org--name</c> folders.</summary>
    public required string CacheDirectory { get; init; }

    /// <summary>Never touch the network; serve from the cache or fail (HF_HUB_OFFLINE).</summary>
    public bool Offline { get; init; }

    /// <summary>
    /// How long to wait for a response's headers, and for each read of a body. 10 s is huggingface_hub's default;
    /// it bounds a stalled connection without limiting how long a large download may take.
    /// </summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Settings as huggingface_hub reads them. Cache: HF_HUB_CACHE, else HF_HOME/hub, else
    /// $XDG_CACHE_HOME/huggingface/hub, else ~/.cache/huggingface/hub. Token: HF_TOKEN, else the file HF_HOME/token.
    /// Offline when HF_HUB_OFFLINE is 1/ON/YES/TRUE. <paramref name="environment"/> replaces the process
    /// environment (for tests).
    /// </summary>
    public static HubSettings FromEnvironment(Func<string, string?>? environment = null)
    {
        environment ??= Environment.GetEnvironmentVariable;
        string? Get(string name) => environment(name) is { Length: > 0 } v ? v : null;

        var xdgCache = Get("XDG_CACHE_HOME")
            ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache");
        var hfHome = Get("HF_HOME") ?? Path.Combine(xdgCache, "huggingface");
        var cache = Get("HF_HUB_CACHE") ?? Path.Combine(hfHome, "hub");

        var token = Get("HF_TOKEN");
        if (token == null)
        {
            var tokenFile = Path.Combine(hfHome, "token");
            if (File.Exists(tokenFile) && File.ReadAllText(tokenFile).Trim() is { Length: > 0 } saved) token = saved;
        }

        return new HubSettings
        {
            Endpoint = (Get("HF_ENDPOINT") ?? DefaultEndpoint).TrimEnd('/'),
            Token = token,
            CacheDirectory = cache,
            Offline = Get("HF_HUB_OFFLINE")?.ToUpperInvariant() is "1" or "ON" or "YES" or "TRUE",
        };
    }
}
