namespace EfficientFT.Models.Tokenizers;

/// <summary>What <see cref="TokenizerBenchmark.Measure"/> timed: the tokens produced from so many UTF-8 bytes of text.</summary>
public sealed record TokenizerThroughput(long Texts, long Tokens, long Bytes, TimeSpan Elapsed)
{
    public double TokensPerSecond => Tokens / Elapsed.TotalSeconds;

    /// <summary>Input throughput in megabytes (10⁶ bytes of UTF-8) per second.</summary>
    public double MegabytesPerSecond => Bytes / 1e6 / Elapsed.TotalSeconds;
}
