using T = EfficientFT.Tensors.Tensor;
using O = EfficientFT.Tensors.Ops;

namespace EfficientFT.Tensors.Tests;

/// <summary>The same seed and thread count give bitwise-identical results.</summary>
public sealed class DeterminismTests
{
    private static (float[] Loss, float[] Grad) TrainingStepLike(ulong seed)
    {
        var rng = new Rng(seed);
        var x = T.Normal(rng, 0, 1, 2, 9, 12);
        var w = T.Parameter(T.Normal(rng, 0, 0.2f, 36, 12));
        var qkv = O.Linear(O.Dropout(x, 0.1f, rng), w);
        var q = O.Slice(qkv, 2, 0, 12).Reshape(2, 9, 3, 4);
        var k = O.Slice(qkv, 2, 12, 12).Reshape(2, 9, 3, 4);
        var v = O.Slice(qkv, 2, 24, 12).Reshape(2, 9, 3, 4);
        var attended = O.Attention(q, k, v, causal: true, dropout: 0.1f, dropoutKey: rng.NextUInt64());
        var loss = O.Mean(O.Gelu(attended));
        loss.Backward();
        return (loss.ToArray(), w.Grad!.ToArray());
    }

    [Fact]
    public void SameSeed_GivesIdenticalBits()
    {
        var first = TrainingStepLike(42);
        var second = TrainingStepLike(42);
        Assert.Equal(first.Loss, second.Loss);
        Assert.Equal(first.Grad, second.Grad);
    }

    /// <summary>
    /// Attention's (batch, key/value head) tasks are claimed one at a time by whichever thread is free, so the thread
    /// that runs a task changes from run to run. The output and every input gradient must still be the bits of a
    /// one-thread run (attention called from inside a parallel region runs on its caller's thread alone).
    /// </summary>
    [Fact]
    public void Attention_GivesTheSameBitsOnOneThreadAsOnSeveral()
    {
        static float[][] Step()
        {
            var rng = new Rng(5);
            var (q, k, v) = (T.Parameter(T.Normal(rng, 0, 1, 4, 64, 8, 16)), T.Parameter(T.Normal(rng, 0, 1, 4, 64, 4, 16)),
                T.Parameter(T.Normal(rng, 0, 1, 4, 64, 4, 16)));
            var keyMask = Enumerable.Range(0, 4 * 64).Select(i => i % 64 < 64 - 5 * (i / 64) ? 1 : 0).ToArray();
            var output = O.Attention(q, k, v, keyMask, dropout: 0.1f, dropoutKey: 11);
            O.Sum(O.Mul(output, T.Normal(rng, 0, 1, 4, 64, 8, 16))).Backward();
            return [output.ToArray(), q.Grad!.ToArray(), k.Grad!.ToArray(), v.Grad!.ToArray()];
        }

        float[][]? alone = null;
        Threading.For(2, 1L << 20, (start, _) =>
        {
            if (start == 0) alone = Step();
        });
        for (var run = 0; run < 3; run++) Assert.Equal(alone!, Step());
    }

    [Fact]
    public void DifferentSeed_GivesDifferentResults()
    {
        Assert.NotEqual(TrainingStepLike(42).Grad, TrainingStepLike(43).Grad);
    }

    [Fact]
    public void Rng_StreamIsFixedForASeed()
    {
        // xoshiro256** seeded through SplitMix64 is a published algorithm; two generators with one seed agree and a
        // fork is not a copy of its parent.
        var a = new Rng(7);
        var b = new Rng(7);
        var draws = Enumerable.Range(0, 5).Select(_ => a.NextUInt64()).ToArray();
        Assert.Equal(draws, Enumerable.Range(0, 5).Select(_ => b.NextUInt64()));
        Assert.NotEqual(a.Fork().NextUInt64(), a.NextUInt64());
    }

    [Fact]
    public void Normal_HasUnitMomentsForLargeSamples()
    {
        var t = T.Normal(new Rng(8), 0, 1, 200_000).ToArray();
        var mean = t.Average();
        var variance = t.Select(v => (v - mean) * (v - mean)).Average();
        Assert.InRange(mean, -0.01, 0.01);
        Assert.InRange(variance, 0.98, 1.02);
    }
}
