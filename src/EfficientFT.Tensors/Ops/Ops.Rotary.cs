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
        var output = Tensor.Zeros(x.ShapeArray());
        Rotate(x.AsSpan(), output.AsSpan(), cos, sin, batch * t, heads, half, inverse: false, accumulate: false);
        return Record(output, "rotary", [x], dy =>
            Rotate(dy.AsSpan(), GradOf(x), cos, sin, batch * t, heads, half, inverse: true, accumulate: true));
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

    private static void Rotate(ReadOnlySpan<float> x, Span<float> y, float[] cos, float[] sin, int positions, int heads,
        int half, bool inverse, bool accumulate)
    {
        var d = 2 * half;
        var sign = inverse ? -1f : 1f;
        for (var p = 0; p < positions; p++)
        for (var h = 0; h < heads; h++)
        {
            var off = (p * heads + h) * d;
            for (var i = 0; i < half; i++)
            {
                var c = cos[p * half + i];
                var s = sign * sin[p * half + i];
                var x1 = x[off + i];
                var x2 = x[off + i + half];
                var y1 = x1 * c - x2 * s;
                var y2 = x2 * c + x1 * s;
                if (accumulate)
                {
                    y[off + i] += y1;
                    y[off + i + half] += y2;
                }
                else
                {
                    y[off + i] = y1;
                    y[off + i + half] = y2;
                }
            }
        }
    }
}
