using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;

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
                var m = TensorPrimitives.Sum(row) / c;
                var s = 1f / MathF.Sqrt(SquaredDeviations(row, m) / c + eps);
                mean[r] = m;
                rstd[r] = s;
                NormalizeRow(row, m, s, w.AsSpan(0, c), b == null ? default : b.AsSpan(0, c), ys.AsSpan(r * c, c));
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
                for (var r = r0; r < r1; r++)
                    LayerNormRowGradient(xs.AsSpan(r * c, c), g.AsSpan(r * c, c), w.AsSpan(0, c), mean[r], rstd[r],
                        dxs.AsSpan(r * c, c), fresh);
            });
        });
    }

    /// <summary>Σ(x − m)² in one pass, without storing the deviations.</summary>
    private static float SquaredDeviations(ReadOnlySpan<float> x, float m)
    {
        ref var xr = ref MemoryMarshal.GetReference(x);
        var (means, sums) = (new Vector<float>(m), Vector<float>.Zero);
        var j = 0;
        for (; j + Vector<float>.Count <= x.Length; j += Vector<float>.Count)
        {
            var d = Vector.LoadUnsafe(ref xr, (nuint)j) - means;
            sums += d * d;
        }
        var sum = Vector.Sum(sums);
        for (; j < x.Length; j++) sum += (x[j] - m) * (x[j] - m);
        return sum;
    }

    /// <summary>y = (x − m)·s·w + b in one pass (b may be empty), each element rounded as the separate steps would.</summary>
    private static void NormalizeRow(ReadOnlySpan<float> x, float m, float s, ReadOnlySpan<float> w, ReadOnlySpan<float> b,
        Span<float> y)
    {
        ref var xr = ref MemoryMarshal.GetReference(x);
        ref var wr = ref MemoryMarshal.GetReference(w);
        ref var yr = ref MemoryMarshal.GetReference(y);
        var (means, scales) = (new Vector<float>(m), new Vector<float>(s));
        var j = 0;
        if (b.IsEmpty)
        {
            for (; j + Vector<float>.Count <= x.Length; j += Vector<float>.Count)
                ((Vector.LoadUnsafe(ref xr, (nuint)j) - means) * scales * Vector.LoadUnsafe(ref wr, (nuint)j)).StoreUnsafe(ref yr, (nuint)j);
            for (; j < x.Length; j++) y[j] = (x[j] - m) * s * w[j];
            return;
        }
        ref var br = ref MemoryMarshal.GetReference(b);
        for (; j + Vector<float>.Count <= x.Length; j += Vector<float>.Count)
            ((Vector.LoadUnsafe(ref xr, (nuint)j) - means) * scales * Vector.LoadUnsafe(ref wr, (nuint)j) + Vector.LoadUnsafe(ref br, (nuint)j))
                .StoreUnsafe(ref yr, (nuint)j);
        for (; j < x.Length; j++) y[j] = (x[j] - m) * s * w[j] + b[j];
    }

    /// <summary>
    /// One row of LayerNorm's input gradient, dx (+)= rstd · (dn − mean(dn) − x̂·mean(dn ⊙ x̂)) with dn = dy ⊙ w and
    /// x̂ = (x − m)·rstd, in two passes that recompute dn and x̂ rather than storing them: one for the two means, one
    /// for dx. Written over a fresh gradient, added to an existing one.
    /// </summary>
    private static void LayerNormRowGradient(ReadOnlySpan<float> x, ReadOnlySpan<float> dy, ReadOnlySpan<float> w, float m,
        float rstd, Span<float> dx, bool fresh)
    {
        ref var xr = ref MemoryMarshal.GetReference(x);
        ref var gr = ref MemoryMarshal.GetReference(dy);
        ref var wr = ref MemoryMarshal.GetReference(w);
        ref var dr = ref MemoryMarshal.GetReference(dx);
        var (means, scales) = (new Vector<float>(m), new Vector<float>(rstd));
        var (dnSums, dnXhatSums) = (Vector<float>.Zero, Vector<float>.Zero);
        var c = x.Length;
        var j = 0;
        for (; j + Vector<float>.Count <= c; j += Vector<float>.Count)
        {
            var dn = Vector.LoadUnsafe(ref gr, (nuint)j) * Vector.LoadUnsafe(ref wr, (nuint)j);
            dnSums += dn;
            dnXhatSums += dn * ((Vector.LoadUnsafe(ref xr, (nuint)j) - means) * scales);
        }
        var (dnSum, dnXhatSum) = (Vector.Sum(dnSums), Vector.Sum(dnXhatSums));
        for (var t = j; t < c; t++)
        {
            var dn = dy[t] * w[t];
            dnSum += dn;
            dnXhatSum += dn * ((x[t] - m) * rstd);
        }
        var (dnMean, dnXhatMean) = (dnSum / c, dnXhatSum / c);
        var (dnMeans, projections) = (new Vector<float>(dnMean), new Vector<float>(-dnXhatMean));
        j = 0;
        for (; j + Vector<float>.Count <= c; j += Vector<float>.Count)
        {
            var xhat = (Vector.LoadUnsafe(ref xr, (nuint)j) - means) * scales;
            var dn = Vector.LoadUnsafe(ref gr, (nuint)j) * Vector.LoadUnsafe(ref wr, (nuint)j) - dnMeans + xhat * projections;
            var update = dn * scales;
            (fresh ? update : update + Vector.LoadUnsafe(ref dr, (nuint)j)).StoreUnsafe(ref dr, (nuint)j);
        }
        for (; j < c; j++)
        {
            var update = (dy[j] * w[j] - dnMean + (x[j] - m) * rstd * -dnXhatMean) * rstd;
            dx[j] = fresh ? update : update + dx[j];
        }
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
