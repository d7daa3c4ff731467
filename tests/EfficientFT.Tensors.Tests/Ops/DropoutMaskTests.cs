namespace EfficientFT.Tensors.Tests.Ops;

/// <summary>The dropout stream: the vector fill against the scalar rule, and the statistics a mask must have.</summary>
public sealed class DropoutMaskTests
{
    [Theory]
    [InlineData(0UL)]
    [InlineData((1UL << 32) - 100)] // words that straddle the index's 2³² boundary take the scalar path
    [InlineData((5UL << 32) + 13)]
    public void Fill_sets_exactly_the_bits_the_scalar_rule_keeps(ulong first)
    {
        const ulong key = 0x0123_4567_89AB_CDEFUL;
        const float p = 0.37f;
        const int count = 300;
        var words = new ulong[DropoutMask.Words(count)];
        DropoutMask.Fill(key, first, count, p, words);
        for (var j = 0; j < count; j++)
            Assert.Equal(Rng.HashUniform(key, first + (ulong)j) >= p, (words[j >> 6] >> (j & 63) & 1) != 0);
        Assert.Equal(0UL, words[^1] >> (count & 63));
    }

    /// <summary>
    /// The top byte of the hash over consecutive indices, and over indices that differ only in their high half, is
    /// uniform: Pearson's χ² with 255 degrees of freedom (mean 255, standard deviation √510 ≈ 22.6) stays within
    /// six standard deviations.
    /// </summary>
    [Theory]
    [InlineData(0, 0x9E37UL)]
    [InlineData(32, 0x9E37UL)]
    [InlineData(0, 0xFFFF_FFFF_0000_0000UL)]
    public void Hash32_top_byte_is_uniform(int shift, ulong key)
    {
        const int n = 1 << 18;
        var counts = new int[256];
        for (var i = 0UL; i < n; i++) counts[Rng.Hash32(key, i << shift) >> 24]++;
        var expected = n / 256.0;
        var chi2 = counts.Sum(c => (c - expected) * (c - expected) / expected);
        Assert.InRange(chi2, 255 - 6 * 22.6, 255 + 6 * 22.6);
    }

    /// <summary>
    /// Neighbouring elements, and the same element under neighbouring keys, are dropped independently: with p = ½ the
    /// share of pairs that agree is ½ within six binomial standard deviations.
    /// </summary>
    [Fact]
    public void Neighbours_and_neighbouring_keys_are_independent()
    {
        const int n = 1 << 18;
        var a = new ulong[DropoutMask.Words(n + 1)];
        var b = new ulong[DropoutMask.Words(n + 1)];
        DropoutMask.Fill(41, 0, n + 1, 0.5f, a);
        DropoutMask.Fill(42, 0, n + 1, 0.5f, b);
        bool Bit(ulong[] w, int j) => (w[j >> 6] >> (j & 63) & 1) != 0;
        var sigma = Math.Sqrt(0.25 / n);
        Assert.InRange(Enumerable.Range(0, n).Count(j => Bit(a, j) == Bit(a, j + 1)) / (double)n, 0.5 - 6 * sigma, 0.5 + 6 * sigma);
        Assert.InRange(Enumerable.Range(0, n).Count(j => Bit(a, j) == Bit(b, j)) / (double)n, 0.5 - 6 * sigma, 0.5 + 6 * sigma);
        Assert.InRange(Enumerable.Range(0, n).Count(j => Bit(a, j)) / (double)n, 0.5 - 6 * sigma, 0.5 + 6 * sigma);
    }

    /// <summary>Kept elements are scaled, dropped ones are +0 even when infinite or NaN, at every length and tail.</summary>
    [Theory]
    [InlineData(7)]
    [InlineData(64)]
    [InlineData(203)]
    public void Apply_and_ApplyAdd_scale_kept_elements_and_zero_dropped_ones(int n)
    {
        var words = new ulong[DropoutMask.Words(n)];
        DropoutMask.Fill(99, 0, n, 0.5f, words);
        var x = Enumerable.Range(0, n).Select(i => (i % 5) switch { 0 => float.NaN, 1 => float.NegativeInfinity, _ => i - 100.5f }).ToArray();
        var y = new float[n];
        var dx = Enumerable.Range(0, n).Select(i => 0.25f * i).ToArray();
        DropoutMask.Apply(words, x, y, 3f);
        DropoutMask.ApplyAdd(words, x, dx, 3f);
        for (var j = 0; j < n; j++)
        {
            var kept = (words[j >> 6] >> (j & 63) & 1) != 0;
            Assert.Equal(kept ? BitConverter.SingleToInt32Bits(x[j] * 3f) : 0, BitConverter.SingleToInt32Bits(y[j]));
            Assert.Equal(kept ? 0.25f * j + x[j] * 3f : 0.25f * j, dx[j]);
        }
    }
}
