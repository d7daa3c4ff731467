using System.Diagnostics;

namespace EfficientFT.Models.Tokenizers;

/// <summary>Single-threaded encoding throughput, for comparing tokenizers and machines rather than for tests.</summary>
public static class TokenizerBenchmark
{
    /// <summary>
    /// Encodes <paramref name="texts"/> without special tokens, over and over until at least
    /// <paramref name="minimumDuration"/> (default 2 s) has passed, after one untimed warm-up pass. The warm-up also
    /// fills BPE's word cache, as a long real corpus would, so this measures the steady state.
    /// </summary>
    public static TokenizerThroughput Measure(Tokenizer tokenizer, IReadOnlyList<string> texts,
        TimeSpan? minimumDuration = null)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentNullException.ThrowIfNull(texts);
        if (texts.Count == 0)
            throw new ArgumentException("There is nothing to measure without texts.", nameof(texts));
        var duration = minimumDuration ?? TimeSpan.FromSeconds(2);

        long bytesPerPass = 0;
        foreach (var text in texts)
        {
            tokenizer.Encode(text, addSpecialTokens: false);
            bytesPerPass += System.Text.Encoding.UTF8.GetByteCount(text);
        }

        long passes = 0, tokens = 0;
        var clock = Stopwatch.StartNew();
        do
        {
            foreach (var text in texts)
                tokens += tokenizer.Encode(text, addSpecialTokens: false).Length;
            passes++;
        } while (clock.Elapsed < duration);
        clock.Stop();
        return new TokenizerThroughput(passes * texts.Count, tokens, passes * bytesPerPass, clock.Elapsed);
    }
}
