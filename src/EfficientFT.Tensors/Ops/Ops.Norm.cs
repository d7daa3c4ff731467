using System.Numerics.Tensors;

namespace EfficientFT.Tensors;

public static partial class Ops
{
    /// <summary>
    /// LayerNorm over the last axis: (x − mean)/√(var + eps) · weight + bias, with the biased variance as PyTorch.
    /// Shapes: x [N, C] (any leading axes), weight and bias [C].
    /// </summary>
    public static Tensor LayerNorm(Tensor x, Tensor weight, Tensor? bias, float eps)
    {
        x = x.Contiguous();
        var (n, c) = RowsCols(x, "layer_norm");
        CheckVector(weight, c, "layer_norm", "weight", x);
        if (bias != null) CheckVector(bias, c, "layer_norm", "bias", x);
        var output = Tensor.Uninitialized(x.ShapeArray());
        var mean = new float[n];
        var rstd = new float[n];
        var xs = x.Storage;
        var ys = output.Storage;
        var w = weight.Contiguous().Storage;
        var b = bias?.Contiguous().Storage;
        Threading.For(n, 8L * c, (r0, r1) =>
        {
            for (var r = r0; r < r1; r++)
            {
                var row = xs.AsSpan(r * c, c);
                var y = ys.AsSpan(r * c, c);
                var m = TensorPrimitives.Sum(row) / c;
                TensorPrimitives.Subtract(row, m, y);
                var variance = TensorPrimitives.Dot(y, y) / c;
                var s = 1f / MathF.Sqrt(variance + eps);
                mean[r] = m;
                rstd[r] = s;
                TensorPrimitives.Multiply(y, s, y);
                TensorPrimitives.Multiply(y, w.AsSpan(0, c), y);
                if (b != null) TensorPrimitives.Add(y, b.AsSpan(0, c), y);
            }
        });
        Tensor[] inputs = bias == null ? [x, weight] : [x, weight, bias];
        return Record(output, "layer_norm", inputs, dy =>
        {
            var g = dy.Storage;
            if (NeedsGrad(weight) || (bias != null && NeedsGrad(bias)))
            {
                var dw = NeedsGrad(weight) ? GradOf(weight) : default;
                var db = bias != null && NeedsGrad(bias) ? GradOf(bias) : default;
                var xhat = new float[c];
                for (var r = 0; r < n; r++)
                {
                    var grow = g.AsSpan(r * c, c);
                    if (!dw.IsEmpty)
                    {
                        TensorPrimitives.Subtract(xs.AsSpan(r * c, c), mean[r], xhat);
                        TensorPrimitives.Multiply(xhat, rstd[r], xhat);
                        TensorPrimitives.MultiplyAdd(xhat, grow, dw, dw);
                    }
                    if (!db.IsEmpty) TensorPrimitives.Add(db, grow, db);
                }
            }
            if (!NeedsGrad(x)) return;
            var dxs = GradStorage(x, out var fresh);
            Threading.For(n, 12L * c, (r0, r1) =>
            {
                var xhat = new float[c];
                var dnorm = new float[c];
                for (var r = r0; r < r1; r++)
                {
                    // dx = rstd · (dn − mean(dn) − x̂·mean(dn ⊙ x̂)), with dn = dy ⊙ weight.
                    TensorPrimitives.Subtract(xs.AsSpan(r * c, c), mean[r], xhat);
                    TensorPrimitives.Multiply(xhat, rstd[r], xhat);
                    TensorPrimitives.Multiply(g.AsSpan(r * c, c), w.AsSpan(0, c), dnorm);
                    var dnMean = TensorPrimitives.Sum(dnorm) / c;
                    var dnXhatMean = TensorPrimitives.Dot(dnorm, xhat) / c;
                    TensorPrimitives.Subtract(dnorm, dnMean, dnorm);
                    TensorPrimitives.MultiplyAdd(xhat, -dnXhatMean, dnorm, dnorm);
                    var dx = ClearIfFresh(dxs, r * c, c, fresh);
                    TensorPrimitives.MultiplyAdd(dnorm, rstd[r], dx, dx);
                }
            });
        });
    }

    /// <summary>
    /// RMSNorm over the last axis as LLaMA computes it: x / √(mean(x²) + eps) · weight (no mean subtraction, no bias).
    /// </summary>
    public static Tensor RmsNorm(Tensor x, Tensor weight, float eps)
    {
        x = x.Contiguous();
        var (n, c) = RowsCols(x, "rms_norm");
        CheckVector(weight, c, "rms_norm", "weight", x);
        var output = Tensor.Uninitialized(x.ShapeArray());
        var rstd = new float[n];
        var xs = x.Storage;
        var ys = output.Storage;
        var w = weight.Contiguous().Storage;
        Threading.For(n, 6L * c, (r0, r1) =>
        {
            for (var r = r0; r < r1; r++)
            {
                var row = xs.AsSpan(r * c, c);
                var s = 1f / MathF.Sqrt(TensorPrimitives.Dot(row, row) / c + eps);
                rstd[r] = s;
                var y = ys.AsSpan(r * c, c);
                TensorPrimitives.Multiply(row, s, y);
                TensorPrimitives.Multiply(y, w.AsSpan(0, c), y);
            }
        });
        return Record(output, "rms_norm", [x, weight], dy =>
        {
            var g = dy.Storage;
            if (NeedsGrad(weight))
            {
                var dw = GradOf(weight);
                var xhat = new float[c];
                for (var r = 0; r < n; r++)
                {
                    TensorPrimitives.Multiply(xs.AsSpan(r * c, c), rstd[r], xhat);
                    TensorPrimitives.MultiplyAdd(xhat, g.AsSpan(r * c, c), dw, dw);
                }
            }
            if (!NeedsGrad(x)) return;
            var dxs = GradStorage(x, out var fresh);
            Threading.For(n, 10L * c, (r0, r1) =>
            {
                var xhat = new float[c];
                var dnorm = new float[c];
                for (var r = r0; r < r1; r++)
                {
                    // dx = rstd · (dn − x̂·mean(dn ⊙ x̂)), with dn = dy ⊙ weight.
                    TensorPrimitives.Multiply(xs.AsSpan(r * c, c), rstd[r], xhat);
                    TensorPrimitives.Multiply(g.AsSpan(r * c, c), w.AsSpan(0, c), dnorm);
                    var proj = TensorPrimitives.Dot(dnorm, xhat) / c;
                    TensorPrimitives.MultiplyAdd(xhat, -proj, dnorm, dnorm);
                    var dx = ClearIfFresh(dxs, r * c, c, fresh);
                    TensorPrimitives.MultiplyAdd(dnorm, rstd[r], dx, dx);
                }
            });
        });
    }

    private static void CheckVector(Tensor v, int length, string op, string what, Tensor x)
    {
        if (v.Rank != 1 || v.Size != length)
            throw new ArgumentException($"{op}: {what} {v.Describe()} does not match the last axis of {x.Describe()} ({length}).");
    }
}
