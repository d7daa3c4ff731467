using EfficientFT.Tensors.Autograd;

namespace EfficientFT.Tensors.Tests.Ops;

/// <summary>
/// Central finite differences of loss = Σ out ⊙ dout against the analytic gradient of every input.
/// </summary>
internal static class GradCheck
{
    public const double Step = 1e-2;

    /// <summary>Returns a description of the worst mismatch, or null when every checked entry agrees.</summary>
    public static string? Check(Func<Tensor[], Tensor> op, Tensor[] inputs, int seed, int maxEntriesPerInput = 48,
        double relativeTolerance = 1e-2, double absoluteTolerance = 2e-3)
    {
        var rng = new Rng((ulong)seed);
        var leaves = inputs.Select(t => Tensor.Parameter(t)).ToArray();
        var output = op(leaves);
        var dout = Tensor.Uniform(rng, -1f, 1f, output.ShapeArray());
        output.Backward(dout);

        var doutValues = dout.ToArray();
        double Loss()
        {
            using var _ = GradMode.NoGrad();
            var o = op(leaves).ToArray();
            double sum = 0;
            for (var i = 0; i < o.Length; i++) sum += (double)o[i] * doutValues[i];
            return sum;
        }

        for (var input = 0; input < leaves.Length; input++)
        {
            var leaf = leaves[input];
            var analytic = leaf.Grad?.ToArray() ?? new float[leaf.Size];
            var data = leaf.AsSpan();
            var indices = Enumerable.Range(0, leaf.Size).ToArray();
            if (indices.Length > maxEntriesPerInput) indices = indices.OrderBy(_ => rng.NextUInt64()).Take(maxEntriesPerInput).ToArray();
            var scale = 1.0 + analytic.Max(v => Math.Abs((double)v));
            foreach (var i in indices)
            {
                var original = data[i];
                data[i] = (float)(original + Step);
                var plus = Loss();
                data[i] = (float)(original - Step);
                var minus = Loss();
                data[i] = original;
                var numeric = (plus - minus) / (2 * Step);
                var error = Math.Abs(numeric - analytic[i]);
                if (error > absoluteTolerance * scale + relativeTolerance * Math.Abs(numeric))
                    return $"input {input} {Shapes.Format(leaf.Shape)} entry {i}: analytic {analytic[i]:G6}, numeric {numeric:G6}, |diff| {error:G3}";
            }
        }
        return null;
    }
}
