using System.Numerics;

namespace EfficientFT.Tensors;

public static partial class Ops
{
    /// <summary>
    /// Rotary position embedding in the Hugging Face LLaMA convention (rotate_half): with half = D/2,
    /// y[i] = x[i]·cos θᵢ − x[i+half]·sin θᵢ and y[i+half] = x[i+half]·cos θᵢ + x[i]·sin θᵢ,
    /// θᵢ = position · inverseFrequencies[i]. x is [B, T, H, D]; positions has B·T entries.
    /// </summary>
    public static Tensor Rotary(Tensor x, ReadOnlySpan<int> positions, ReadOnlySpan<float> inverseFrequencies)
    {
        if (x.Rank != 4) throw new ArgumentException($"rotary: expected [B, T, H, D], got {x.Describe()}.");
        var (batch, t, heads, d) = (x.Dim(0), x.Dim(1), x.Dim(2), x.Dim(3));
        var half = d / 2;
        if (d % 2 != 0 || inverseFrequencies.Length != half)
            throw new ArgumentException($"rotary: head size {d} needs {d / 2} inverse frequencies (even size), got {inverseFrequencies.Length}.");
        if (positions.Length != batch * t)
            throw new ArgumentException($"rotary: {positions.Length} positions for B·T = {batch * t} of {x.Describe()}.");
        x = x.Contiguous();
        // Angles in float32, as transformers computes inv_freq @ position_ids before cos/sin.
        var cos = new float[batch * t * half];
        var sin = new float[batch * t * half];
        for (var p = 0; p < batch * t; p++)
        for (var i = 0; i < half; i++)
        {
            var angle = positions[p] * inverseFrequencies[i];
            cos[p * half + i] = MathF.Cos(angle);
            sin[p * half + i] = MathF.Sin(angle);
        }
        var output = Tensor.Uninitialized(x.ShapeArray());
        var (xs, ys) = (x.Storage, output.Storage);
        var rowCost = 6L * heads * half;
        Threading.For(batch * t, rowCost, (start, end) => Rotate(xs, ys, cos, sin, start, end, heads, half, inverse: false, accumulate: false));
        return Record(output, "rotary", [x], dy =>
        {
            // A fresh gradient array is written outright: every element gets exactly one value.
            var dxs = GradStorage(x, out var fresh);
            var dys = dy.Storage;
            Threading.For(batch * t, rowCost, (start, end) => Rotate(dys, dxs, cos, sin, start, end, heads, half, inverse: true, accumulate: !fresh));
        });
    }

    /// <summary>
    /// transformers' default rotary inverse frequencies: 1 / θ^(2i/D) for i in [0, D/2), computed in float32.
    /// </summary>
    public static float[] RotaryInverseFrequencies(int headDim, double theta)
    {
        var result = new float[headDim / 2];
        for (var i = 0; i < result.Length; i++) result[i] = 1f / MathF.Pow((float)theta, 2f * i / headDim);
        return result;
    }

    /// <summary>Rotates positions [start, end) of x into y (or adds the rotation to y); the inverse turns by −θ.</summary>
    private static void Rotate(float[] x, float[] y, float[] cos, float[] sin, int start, int end, int heads, int half,
        bool inverse, bool accumulate)
    {
        var d = 2 * half;
        var sign = inverse ? -1f : 1f;
        var lanes = Vector<float>.Count;
        for (var p = start; p < end; p++)
        for (var h = 0; h < heads; h++)
        {
            var offset = (p * heads + h) * d;
            var lo = x.AsSpan(offset, half);
            var hi = x.AsSpan(offset + half, half);
            var yLo = y.AsSpan(offset, half);
            var yHi = y.AsSpan(offset + half, half);
            var cs = cos.AsSpan(p * half, half);
            var sn = sin.AsSpan(p * half, half);
            var i = 0;
            for (; i <= half - lanes; i += lanes)
            {
                var (c, s) = (new Vector<float>(cs[i..]), new Vector<float>(sn[i..]) * sign);
                var (x1, x2) = (new Vector<float>(lo[i..]), new Vector<float>(hi[i..]));
                var (y1, y2) = (x1 * c - x2 * s, x2 * c + x1 * s);
                if (accumulate)
                {
                    y1 += new Vector<float>(yLo[i..]);
                    y2 += new Vector<float>(yHi[i..]);
                }
                y1.CopyTo(yLo[i..]);
                y2.CopyTo(yHi[i..]);
            }
            for (; i < half; i++)
            {
                var (c, s) = (cs[i], sign * sn[i]);
                var (y1, y2) = (lo[i] * c - hi[i] * s, hi[i] * c + lo[i] * s);
                yLo[i] = accumulate ? yLo[i] + y1 : y1;
                yHi[i] = accumulate ? yHi[i] + y2 : y2;
            }
        }
    }
}
