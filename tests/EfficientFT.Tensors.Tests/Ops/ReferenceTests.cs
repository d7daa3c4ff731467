using T = EfficientFT.Tensors.Tensor;
using O = EfficientFT.Tensors.Ops;

namespace EfficientFT.Tensors.Tests.Ops;

/// <summary>Fused ops against the same maths written out from simpler ops or in double precision.</summary>
public sealed class ReferenceTests
{
    [Fact]
    public void Erf_MatchesDoublePrecisionReference()
    {
        var worst = 0.0;
        for (var x = -6.0; x <= 6.0; x += 0.001)
            worst = Math.Max(worst, Math.Abs(Special.Erf((float)x) - MathNet.Numerics.SpecialFunctions.Erf(x)));
        Assert.True(worst < 5e-7, $"max |erf error| {worst:G3}");
    }

    [Fact]
    public void Exp_IsWithinTwoUlpOfDoublePrecisionOverTheNormalRange()
    {
        var worst = 0.0;
        for (var x = -87.0; x <= 88.7; x += 0.00037)
        {
            var exact = (float)Math.Exp((float)x);
            var ulps = Math.Abs(Special.Exp((float)x) - Math.Exp((float)x)) / (MathF.BitIncrement(exact) - exact);
            worst = Math.Max(worst, ulps);
        }
        Assert.True(worst <= 2, $"max exp error {worst:F2} ulp");
    }

    [Theory]
    [InlineData(float.NegativeInfinity, 0f)]
    [InlineData(float.MinValue, 0f)]
    [InlineData(-104f, 0f)]
    [InlineData(0f, 1f)]
    [InlineData(89f, float.PositiveInfinity)]
    [InlineData(float.MaxValue, float.PositiveInfinity)]
    [InlineData(float.PositiveInfinity, float.PositiveInfinity)]
    [InlineData(float.NaN, float.NaN)]
    public void Exp_UnderflowsOverflowsAndPropagatesNaN(float x, float expected)
    {
        Assert.Equal(expected, Special.Exp(x));
        Assert.Equal(expected, Special.Exp(new System.Numerics.Vector<float>(x))[0]);
    }

    [Fact]
    public void Exp_GraduallyUnderflowsThroughTheSubnormals()
    {
        foreach (var x in new[] { -88f, -95f, -100f, -103f })
        {
            var exact = Math.Exp(x);
            var ulp = (double)float.Epsilon;
            Assert.True(Math.Abs(Special.Exp(x) - exact) <= Math.Max(ulp, 2e-6 * exact), $"exp({x}) = {Special.Exp(x)}, exact {exact}");
        }
    }

    [Fact]
    public void VectorExp_MatchesScalarExp()
    {
        var lanes = System.Numerics.Vector<float>.Count;
        var x = Enumerable.Range(0, 64 * lanes).Select(i => -110f + 210f * i / (64 * lanes)).ToArray();
        for (var i = 0; i < x.Length; i += lanes)
        {
            var y = Special.Exp(new System.Numerics.Vector<float>(x, i));
            for (var j = 0; j < lanes; j++) Assert.Equal(Special.Exp(x[i + j]), y[j]);
        }
    }

    [Fact]
    public void Tanh_IsExactAtZeroAndOdd()
    {
        var y = O.Tanh(T.FromArray([0f, 0.5f, -0.5f, 3f], 4)).ToArray();
        Assert.Equal(0f, y[0]);
        Assert.Equal(-y[1], y[2]);
        Assert.Equal(Math.Tanh(3), y[3], 6);
    }

    [Fact]
    public void VectorErf_MatchesScalarErfLaneByLane()
    {
        // Arguments on both sides of the ±4 clamp.
        var x = Enumerable.Range(0, 1001).Select(i => -6f + 12f * i / 1000).ToArray();
        var lanes = System.Numerics.Vector<float>.Count;
        for (var i = 0; i + lanes <= x.Length; i += lanes)
        {
            var y = Special.Erf(new System.Numerics.Vector<float>(x, i));
            for (var j = 0; j < lanes; j++) Assert.Equal(Special.Erf(x[i + j]), y[j]);
        }
    }

    [Fact]
    public void Gelu_IsTheExactErfForm()
    {
        var x = T.FromArray([-3f, -1f, -0.5f, 0f, 0.5f, 1f, 3f], 7);
        var y = O.Gelu(x).ToArray();
        for (var i = 0; i < 7; i++)
        {
            var v = (double)x.ToArray()[i];
            var expected = 0.5 * v * (1 + MathNet.Numerics.SpecialFunctions.Erf(v / Math.Sqrt(2)));
            Assert.True(Math.Abs(y[i] - expected) < 1e-6, $"gelu({v}) = {y[i]}, expected {expected}");
        }
    }

    /// <summary>
    /// Backward's slope Φ(x) + x·φ(x) against double precision, with Φ taken from the output as y/x: at 0 (where y/x
    /// would be 0/0), at tiny and subnormal inputs, far in both tails, in vector lanes and in the scalar tail.
    /// </summary>
    [Fact]
    public void Gelu_Gradient_IsTheExactDerivative()
    {
        float[] values = [0f, 1e-30f, -1e-30f, 1e-40f, -3f, -1f, -0.5f, 0.25f, 1f, 3f, -8f, 8f, 2.5f, -0f, 0.75f, -5f, 7f];
        var x = T.Parameter(T.FromArray(values, values.Length));
        O.Sum(O.Gelu(x)).Backward();
        var grad = x.Grad!.ToArray();
        for (var i = 0; i < values.Length; i++)
        {
            var v = (double)values[i];
            var expected = 0.5 * (1 + MathNet.Numerics.SpecialFunctions.Erf(v / Math.Sqrt(2))) + v * Math.Exp(-v * v / 2) / Math.Sqrt(2 * Math.PI);
            Assert.True(Math.Abs(grad[i] - expected) < 1e-6, $"gelu'({v}) = {grad[i]}, expected {expected}");
        }
    }


    /// <summary>
    /// SiLU x·σ(x) and its slope σ(x)·(1 + x·(1 − σ(x))) against double precision: at 0, in both tails out to where
    /// exp(−x) overflows (σ must come out 0, not NaN), in vector lanes and in the scalar tail.
    /// </summary>
    [Fact]
    public void Silu_AndItsGradient_AreExact()
    {
        float[] values = [0f, -0f, 1e-30f, -3f, -1f, -0.5f, 0.25f, 1f, 3f, -8f, 8f, 2.5f, -20f, 20f, -100f, 100f, -1000f, 1000f, 0.75f, -5f, 7f];
        var x = T.Parameter(T.FromArray(values, values.Length));
        var y = O.Silu(x);
        O.Sum(y).Backward();
        var (output, grad) = (y.ToArray(), x.Grad!.ToArray());
        for (var i = 0; i < values.Length; i++)
        {
            var v = (double)values[i];
            var sigmoid = 1 / (1 + Math.Exp(-v));
            Assert.True(Math.Abs(output[i] - v * sigmoid) <= 1e-6 * Math.Max(1, Math.Abs(v)), $"silu({v}) = {output[i]}, expected {v * sigmoid}");
            var slope = sigmoid * (1 + v * (1 - sigmoid));
            Assert.True(Math.Abs(grad[i] - slope) < 1e-6, $"silu'({v}) = {grad[i]}, expected {slope}");
        }
    }
    [Theory]
    [InlineData(false, 2, false, 0f)]
    [InlineData(true, 2, false, 0f)]
    [InlineData(false, 1, true, 0f)]
    [InlineData(true, 4, true, 0f)]
    [InlineData(false, 2, true, 0.3f)]
    [InlineData(true, 1, false, 0.5f)]
    public void Attention_MatchesUnfusedComposition(bool causal, int kvHeads, bool padded, float dropout)
    {
        const ulong key = 0xD1CEUL;
        const int b = 2, t = 7, hq = 4, d = 5;
        var rng = new Rng(11);
        var q = T.Uniform(rng, -1, 1, b, t, hq, d);
        var k = T.Uniform(rng, -1, 1, b, t, kvHeads, d);
        var v = T.Uniform(rng, -1, 1, b, t, kvHeads, d);
        int[] mask = padded ? [1, 1, 1, 1, 1, 0, 0, 0, 1, 1, 1, 1, 1, 1] : [];
        var fused = O.Attention(q, k, v, mask, causal, dropout: dropout, dropoutKey: key).ToArray();

        // Reference: per head, softmax(q kᵀ/√d + additive mask) v in double precision, each probability kept when
        // the counter-based draw for its (batch, head, query, key) index is at least p, and scaled by 1/(1 − p).
        var qs = q.ToArray();
        var ks = k.ToArray();
        var vs = v.ToArray();
        var group = hq / kvHeads;
        for (var bi = 0; bi < b; bi++)
        for (var h = 0; h < hq; h++)
        for (var i = 0; i < t; i++)
        {
            var scores = new double[t];
            for (var j = 0; j < t; j++)
            {
                double s = 0;
                for (var e = 0; e < d; e++)
                    s += (double)qs[((bi * t + i) * hq + h) * d + e] * ks[((bi * t + j) * kvHeads + h / group) * d + e];
                var visible = (!padded || mask[bi * t + j] == 1) && (!causal || j <= i);
                scores[j] = visible ? s / Math.Sqrt(d) : double.NegativeInfinity;
            }
            var max = scores.Max();
            var weights = double.IsNegativeInfinity(max)
                ? scores.Select(_ => 1.0 / t).ToArray()
                : scores.Select(s => Math.Exp(s - max)).ToArray();
            var total = weights.Sum();
            for (var e = 0; e < d; e++)
            {
                double o = 0;
                for (var j = 0; j < t; j++)
                {
                    var kept = Rng.HashUniform(key, (ulong)(((bi * hq + h) * t + i) * t + j)) >= dropout;
                    o += (kept ? 1 / (1.0 - dropout) : 0) * weights[j] / total * vs[((bi * t + j) * kvHeads + h / group) * d + e];
                }
                var got = fused[((bi * t + i) * hq + h) * d + e];
                Assert.True(Math.Abs(got - o) < 1e-5, $"b{bi} h{h} t{i} e{e}: {got} vs {o}");
            }
        }
    }

    [Theory]
    [InlineData(7, 7, 2, 3, true, 0.3f)]
    // Keys long enough for two query blocks per head (the second adds to what the first wrote); probabilities recomputed.
    [InlineData(7, 40_000, 1, 1, false, 0f)]
    public void Attention_OverwritesRecycledGradientArraysAsItAddsToZeros(int t, int s, int kvHeads, int d, bool causal, float dropout)
    {
        const int b = 2, hq = 4, spares = 4;
        var rng = new Rng(21);
        var (q0, k0, v0) = (T.Uniform(rng, -1, 1, b, t, hq, d), T.Uniform(rng, -1, 1, b, s, kvHeads, d), T.Uniform(rng, -1, 1, b, s, kvHeads, d));
        var weights = T.Uniform(rng, -1, 1, b, t, hq, d);
        int[] sizes = [q0.Size, k0.Size];

        float[][] Gradients(bool recycled)
        {
            var inputs = new[] { T.Parameter(q0), T.Parameter(k0), T.Parameter(v0) };
            if (recycled)
            {
                // Arrays the pool hands back hold whatever was there; NaN shows any element the kernel fails to write.
                foreach (var size in sizes)
                    for (var i = 0; i < spares; i++)
                        EfficientFT.Tensors.Autograd.GradientPool.Return(Enumerable.Repeat(float.NaN, size).ToArray());
            }
            else
            {
                foreach (var input in inputs) input.Grad = T.Zeros(input.ShapeArray());
            }
            var y = O.Attention(inputs[0], inputs[1], inputs[2], causal: causal, dropout: dropout, dropoutKey: 5);
            O.Sum(O.Mul(y, weights)).Backward();
            return inputs.Select(input => input.Grad!.ToArray()).ToArray();
        }

        var added = Gradients(recycled: false);
        var overwritten = Gradients(recycled: true);
        foreach (var size in sizes)
            for (var i = 0; i < spares; i++) EfficientFT.Tensors.Autograd.GradientPool.Rent(size);
        for (var i = 0; i < 3; i++)
        {
            Assert.DoesNotContain(overwritten[i], float.IsNaN);
            Assert.Equal(added[i], overwritten[i]);
        }
    }

    [Fact]
    public void Attention_FullyMaskedRowIsUniformNotNaN()
    {
        var rng = new Rng(12);
        var q = T.Uniform(rng, -1, 1, 1, 3, 1, 2);
        var k = T.Uniform(rng, -1, 1, 1, 3, 1, 2);
        var v = T.Uniform(rng, -1, 1, 1, 3, 1, 2);
        var y = O.Attention(q, k, v, [0, 0, 0]).ToArray();
        var vs = v.ToArray();
        for (var e = 0; e < 2; e++)
            Assert.Equal((vs[e] + vs[2 + e] + vs[4 + e]) / 3, y[e], 5);
    }

    [Theory]
    [InlineData(8)]
    // Half a head of 19: two vectors of 8 lanes (one of 16) and a scalar tail.
    [InlineData(38)]
    public void Rotary_MatchesRotateHalfComposition(int d)
    {
        // transformers: x·cos + rotate_half(x)·sin, rotate_half(x) = cat(−x₂, x₁), cos/sin = cat(freqs, freqs).
        const int b = 1, t = 4, h = 2;
        var x = T.Uniform(new Rng(13), -1, 1, b, t, h, d);
        int[] positions = [0, 3, 5, 100];
        var inv = O.RotaryInverseFrequencies(d, 500000);
        var got = O.Rotary(x, positions, inv).ToArray();
        var xs = x.ToArray();
        for (var p = 0; p < t; p++)
        for (var hh = 0; hh < h; hh++)
        for (var i = 0; i < d; i++)
        {
            var freq = (double)positions[p] * inv[i % (d / 2)];
            var baseIndex = (p * h + hh) * d;
            var rotated = i < d / 2 ? -xs[baseIndex + i + d / 2] : xs[baseIndex + i - d / 2];
            var expected = xs[baseIndex + i] * Math.Cos(freq) + rotated * Math.Sin(freq);
            Assert.True(Math.Abs(got[baseIndex + i] - expected) < 1e-4, $"p{p} h{hh} i{i}: {got[baseIndex + i]} vs {expected}");
        }
    }

    [Fact]
    public void RotaryInverseFrequencies_FollowTheFormula()
    {
        var inv = O.RotaryInverseFrequencies(64, 10000);
        for (var i = 0; i < 32; i++) Assert.Equal(1.0 / Math.Pow(10000, 2.0 * i / 64), inv[i], 1e-6);
    }

    [Fact]
    public void CrossEntropy_IsMeanOverCountedTargets()
    {
        var logits = T.FromArray([1f, 2f, 3f, 0f, 0f, 0f, 5f, 1f, 0f], 3, 3);
        var loss = O.CrossEntropy(logits, [2, -100, 0]).Item();
        var row0 = Math.Log(Math.Exp(1) + Math.Exp(2) + Math.Exp(3)) - 3;
        var row2 = Math.Log(Math.Exp(5) + Math.Exp(1) + 1) - 5;
        Assert.Equal((row0 + row2) / 2, loss, 5);
    }

    /// <summary>
    /// BCE with logits as its definition −(y·log σ(x) + (1 − y)·log(1 − σ(x))), averaged over every entry, where that
    /// form is safe in double precision; at ±100 the definition's limits: a confident right logit costs 0, a confident
    /// wrong one |x|, with no overflow to infinity or NaN.
    /// </summary>
    [Fact]
    public void BinaryCrossEntropyWithLogits_IsTheMeanOfTheDefinition()
    {
        float[] x = [-2.5f, -0.3f, 0f, 0.7f, 3f, 1.2f];
        float[] y = [0f, 1f, 1f, 0.25f, 1f, 0f];
        var expected = x.Zip(y, (xi, yi) =>
        {
            var sigma = 1 / (1 + Math.Exp(-xi));
            return -(yi * Math.Log(sigma) + (1 - yi) * Math.Log(1 - sigma));
        }).Average();
        Assert.Equal(expected, O.BinaryCrossEntropyWithLogits(T.FromArray(x, 2, 3), T.FromArray(y, 2, 3)).Item(), 6);

        var extremes = O.BinaryCrossEntropyWithLogits(T.FromArray([100f, -100f, 100f, -100f], 2, 2), T.FromArray([1f, 0f, 0f, 1f], 2, 2));
        Assert.Equal((0 + 0 + 100 + 100) / 4.0, extremes.Item(), 4);
    }

    [Fact]
    public void CrossEntropy_OverAWideVocabularyMatchesDoublePrecision()
    {
        // 5,003 classes: several exponential chunks and a ragged last one; rows split across threads; one row ignored.
        const int rows = 6, classes = 5003;
        var x = T.Parameter(T.Uniform(new Rng(11), -6f, 6f, rows, classes));
        int[] labels = [0, 5002, -100, 2047, 2048, 4096];
        var loss = O.CrossEntropy(x, labels);
        loss.Backward();
        var xs = x.ToArray();
        var grad = x.Grad!.ToArray();
        double expectedLoss = 0;
        for (var r = 0; r < rows; r++)
        {
            var row = xs.AsSpan(r * classes, classes).ToArray().Select(v => (double)v).ToArray();
            var max = row.Max();
            var lse = max + Math.Log(row.Sum(v => Math.Exp(v - max)));
            if (labels[r] != -100) expectedLoss += (lse - row[labels[r]]) / 5;
            for (var c = 0; c < classes; c++)
            {
                var expected = labels[r] == -100 ? 0 : (Math.Exp(row[c] - lse) - (c == labels[r] ? 1 : 0)) / 5;
                Assert.True(Math.Abs(grad[r * classes + c] - expected) < 1e-6, $"row {r} class {c}: {grad[r * classes + c]} vs {expected}");
            }
        }
        Assert.Equal(expectedLoss, loss.Item(), 5);
    }

    [Fact]
    public void DropoutAdd_IsDropoutThenAdd()
    {
        // 1,000,003 elements: mask words split across threads and a ragged last word. Same draws from the generator,
        // so a model that switches to the fused op keeps its masks.
        var rng = new Rng(12);
        var x = T.Uniform(rng, -1, 1, 1_000_003);
        var residual = T.Uniform(rng, -1, 1, 1_000_003);
        var fused = O.DropoutAdd(x, residual, 0.1f, new Rng(99)).ToArray();
        var separate = (residual + O.Dropout(x, 0.1f, new Rng(99))).ToArray();
        Assert.Equal(separate, fused);
    }

    [Fact]
    public void LayerNorm_MatchesDefinition()
    {
        var x = T.FromArray([1f, 2f, 4f, -1f, 0f, 1f], 2, 3);
        var w = T.FromArray([1f, 2f, 0.5f], 3);
        var bias = T.FromArray([0f, 1f, -1f], 3);
        var y = O.LayerNorm(x, w, bias, 1e-5f).ToArray();
        double[][] rows = [[1, 2, 4], [-1, 0, 1]];
        for (var r = 0; r < 2; r++)
        {
            var mean = rows[r].Average();
            var variance = rows[r].Select(v => (v - mean) * (v - mean)).Average();
            for (var c = 0; c < 3; c++)
            {
                var expected = (rows[r][c] - mean) / Math.Sqrt(variance + 1e-5) * w.ToArray()[c] + bias.ToArray()[c];
                Assert.Equal(expected, y[r * 3 + c], 5);
            }
        }
    }

    [Fact]
    public void Dropout_MaskIsTheCounterBasedDrawOfEachElement()
    {
        // A size that is no multiple of the 64-element mask words or of the 8-lane hash (split across the threads).
        const ulong key = 0xBEEFUL;
        const float p = 0.3f;
        var x = T.Uniform(new Rng(3), 1, 2, 100_003);
        var y = O.Dropout(x, p, key).ToArray();
        var xs = x.ToArray();
        for (var i = 0; i < xs.Length; i++)
            Assert.Equal(Rng.HashUniform(key, (ulong)i) < p ? 0f : xs[i] * (1f / (1f - p)), y[i]);
    }

    [Fact]
    public void Dropout_KeepsExpectationAndRate()
    {
        var x = T.Ones(100_000);
        var y = O.Dropout(x, 0.1f, new Rng(14)).ToArray();
        var dropped = y.Count(v => v == 0f) / (double)y.Length;
        Assert.InRange(dropped, 0.095, 0.105);
        Assert.All(y.Where(v => v != 0f), v => Assert.Equal(1f / 0.9f, v, 6));
    }
}
