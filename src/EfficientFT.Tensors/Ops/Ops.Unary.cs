using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace EfficientFT.Tensors;

public static partial class Ops
{
    public static Tensor Exp(Tensor x) => Unary(x, "exp", TensorPrimitives.Exp, (xs, ys, dy, dx) =>
        TensorPrimitives.MultiplyAdd(dy, ys, dx, dx));

    /// <summary>Natural logarithm; negative inputs are rejected (they would give NaN).</summary>
    public static Tensor Log(Tensor x)
    {
        RequireNonNegative(x, "log");
        return Unary(x, "log", TensorPrimitives.Log, (xs, ys, dy, dx) =>
        {
            var t = new float[dy.Length];
            TensorPrimitives.Divide(dy, xs, t);
            TensorPrimitives.Add(dx, t, dx);
        });
    }

    /// <summary>Square root; negative inputs are rejected (they would give NaN).</summary>
    public static Tensor Sqrt(Tensor x)
    {
        RequireNonNegative(x, "sqrt");
        return Unary(x, "sqrt", TensorPrimitives.Sqrt, (xs, ys, dy, dx) =>
        {
            var t = new float[dy.Length];
            TensorPrimitives.Divide(dy, ys, t);
            TensorPrimitives.MultiplyAdd(t, 0.5f, dx, dx);
        });
    }

    /// <summary>x^p elementwise; a negative base with a non-integer exponent is rejected (it would give NaN).</summary>
    public static Tensor Pow(Tensor x, float p)
    {
        if (p != MathF.Round(p)) RequireNonNegative(x, "pow");
        return Unary(x, "pow", (xs, ys) => TensorPrimitives.Pow(xs, p, ys), (xs, ys, dy, dx) =>
        {
            var t = new float[dy.Length];
            TensorPrimitives.Pow(xs, p - 1, t);
            TensorPrimitives.Multiply(t, dy, t);
            TensorPrimitives.MultiplyAdd(t, p, dx, dx);
        });
    }

    public static Tensor Abs(Tensor x) => Unary(x, "abs", TensorPrimitives.Abs, (xs, ys, dy, dx) =>
    {
        for (var i = 0; i < dx.Length; i++) dx[i] += xs[i] > 0 ? dy[i] : xs[i] < 0 ? -dy[i] : 0f;
    });

    /// <summary>
    /// tanh per element with MathF.Tanh: TensorPrimitives.Tanh's vector approximation gives tanh(0) = −6e-8, which
    /// would move a model whose adapter must start exactly at zero.
    /// </summary>
    public static Tensor Tanh(Tensor x) => Unary(x, "tanh", (xs, ys) =>
    {
        for (var i = 0; i < xs.Length; i++) ys[i] = MathF.Tanh(xs[i]);
    }, (xs, ys, dy, dx) =>
    {
        for (var i = 0; i < dx.Length; i++) dx[i] += dy[i] * (1f - ys[i] * ys[i]);
    });

    public static Tensor Sigmoid(Tensor x) => Unary(x, "sigmoid", TensorPrimitives.Sigmoid, (xs, ys, dy, dx) =>
    {
        for (var i = 0; i < dx.Length; i++) dx[i] += dy[i] * ys[i] * (1f - ys[i]);
    });

    /// <summary>Hugging Face's "gelu": the exact form x·Φ(x) = ½x(1 + erf(x/√2)), not the tanh approximation.</summary>
    public static Tensor Gelu(Tensor x) => Unary(x, "gelu", (xs, ys) =>
    {
        // One vector pass: the erf's polynomial keeps the unit busy, so separate passes only added loads and stores.
        // Unchecked loads: sliced spans cost a quarter of the backward pass on one thread (3.3 against 4.2 ms for 3.1 M
        // elements, Zen 3).
        ref var x0 = ref MemoryMarshal.GetReference(xs);
        ref var y0 = ref MemoryMarshal.GetReference(ys);
        var lanes = Vector<float>.Count;
        var i = 0;
        for (; i <= xs.Length - lanes; i += lanes)
        {
            var xv = Vector.LoadUnsafe(ref x0, (nuint)i);
            (xv * Special.NormalCdf(xv)).StoreUnsafe(ref y0, (nuint)i);
        }
        for (; i < xs.Length; i++) ys[i] = xs[i] * Special.NormalCdf(xs[i]);
    }, (xs, ys, dy, dx) =>
    {
        // dx += (Φ(x) + x·φ(x))·dy with φ(x) = exp(−x²/2)/√(2π), in one vector pass as forward. Φ(x) comes back from
        // the output as y/x (½ at x = 0): one division instead of erf's polynomial, and the same Φ forward used.
        ref var x0 = ref MemoryMarshal.GetReference(xs);
        ref var y0 = ref MemoryMarshal.GetReference(ys);
        ref var g0 = ref MemoryMarshal.GetReference(dy);
        ref var d0 = ref MemoryMarshal.GetReference(dx);
        var lanes = Vector<float>.Count;
        var i = 0;
        for (; i <= xs.Length - lanes; i += lanes)
        {
            var at = (nuint)i;
            var xv = Vector.LoadUnsafe(ref x0, at);
            var cdf = Vector.ConditionalSelect(Vector.Equals(xv, Vector<float>.Zero), new Vector<float>(0.5f), Vector.LoadUnsafe(ref y0, at) / xv);
            var pdf = Special.Exp(xv * xv * -0.5f) * Special.InvSqrt2Pi;
            var slope = Vector.FusedMultiplyAdd(pdf, xv, cdf);
            Vector.FusedMultiplyAdd(slope, Vector.LoadUnsafe(ref g0, at), Vector.LoadUnsafe(ref d0, at)).StoreUnsafe(ref d0, at);
        }
        for (; i < xs.Length; i++)
        {
            var cdf = xs[i] == 0 ? 0.5f : ys[i] / xs[i];
            var pdf = Special.Exp(xs[i] * xs[i] * -0.5f) * Special.InvSqrt2Pi;
            dx[i] = MathF.FusedMultiplyAdd(MathF.FusedMultiplyAdd(pdf, xs[i], cdf), dy[i], dx[i]);
        }
    });

    /// <summary>SiLU (swish): x·σ(x), LLaMA's MLP activation.</summary>
    public static Tensor Silu(Tensor x) => Unary(x, "silu", (xs, ys) =>
    {
        // One vector pass, σ as backward computes it.
        ref var x0 = ref MemoryMarshal.GetReference(xs);
        ref var y0 = ref MemoryMarshal.GetReference(ys);
        var lanes = Vector<float>.Count;
        var i = 0;
        for (; i <= xs.Length - lanes; i += lanes)
        {
            var xv = Vector.LoadUnsafe(ref x0, (nuint)i);
            (xv * Logistic(xv)).StoreUnsafe(ref y0, (nuint)i);
        }
        for (; i < xs.Length; i++) ys[i] = xs[i] * Logistic(xs[i]);
    }, (xs, ys, dy, dx) =>
    {
        // d/dx x·σ(x) = σ(x)·(1 + x·(1 − σ(x))). σ(x) comes back from the output as y/x only where x ≠ 0, so it is
        // recomputed, in the same vector pass: a sigmoid pass into a scratch and a scalar loop over it took 94 ms of
        // a Llama-3.2-1B-shaped step at two threads.
        ref var x0 = ref MemoryMarshal.GetReference(xs);
        ref var g0 = ref MemoryMarshal.GetReference(dy);
        ref var d0 = ref MemoryMarshal.GetReference(dx);
        var lanes = Vector<float>.Count;
        var i = 0;
        for (; i <= xs.Length - lanes; i += lanes)
        {
            var at = (nuint)i;
            var xv = Vector.LoadUnsafe(ref x0, at);
            var sigmoid = Logistic(xv);
            var slope = sigmoid * Vector.FusedMultiplyAdd(xv, Vector<float>.One - sigmoid, Vector<float>.One);
            Vector.FusedMultiplyAdd(slope, Vector.LoadUnsafe(ref g0, at), Vector.LoadUnsafe(ref d0, at)).StoreUnsafe(ref d0, at);
        }
        for (; i < xs.Length; i++)
        {
            var sigmoid = Logistic(xs[i]);
            dx[i] = MathF.FusedMultiplyAdd(sigmoid * MathF.FusedMultiplyAdd(xs[i], 1f - sigmoid, 1f), dy[i], dx[i]);
        }
    });

    /// <summary>σ(x) = 1/(1 + e⁻ˣ); 0 where e⁻ˣ overflows, 1 where it underflows.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector<float> Logistic(Vector<float> x) => Vector<float>.One / (Vector<float>.One + Special.Exp(-x));

    private static float Logistic(float x) => 1f / (1f + Special.Exp(-x));

    public static Tensor Relu(Tensor x) => Unary(x, "relu", (xs, ys) => TensorPrimitives.Max(xs, 0f, ys), (xs, ys, dy, dx) =>
    {
        for (var i = 0; i < dx.Length; i++) if (xs[i] > 0) dx[i] += dy[i];
    });

    public static Tensor Neg(Tensor x) => MulScalar(x, -1f);

    private delegate void UnaryForward(ReadOnlySpan<float> x, Span<float> y);

    private delegate void UnaryBackward(ReadOnlySpan<float> x, ReadOnlySpan<float> y, ReadOnlySpan<float> dy, Span<float> dx);

    /// <summary>An elementwise op split across threads in fixed chunks (so results do not depend on scheduling).</summary>
    private static Tensor Unary(Tensor x, string op, UnaryForward forward, UnaryBackward backward)
    {
        x = x.Contiguous();
        var output = Tensor.Uninitialized(x.ShapeArray());
        var xs = x.Storage;
        var ys = output.Storage;
        Threading.For(x.Size, 16, (start, end) =>
            forward(xs.AsSpan(start, end - start), ys.AsSpan(start, end - start)));
        return Record(output, op, [x], dy =>
        {
            var dys = dy.Storage;
            var dxs = GradStorage(x, out var fresh);
            Threading.For(x.Size, 16, (start, end) =>
            {
                // In L1-sized pieces, so a fresh gradient is cleared just before the rule adds into it, not in a pass
                // over the whole range that the rule then reads back from memory.
                const int piece = 4096;
                for (var i = start; i < end; i += piece)
                {
                    var n = Math.Min(piece, end - i);
                    backward(xs.AsSpan(i, n), ys.AsSpan(i, n), dys.AsSpan(i, n), ClearIfFresh(dxs, i, n, fresh));
                }
            });
        });
    }

    private static void RequireNonNegative(Tensor x, string op)
    {
        var data = x.Contiguous().AsSpan();
        if (data.Length > 0 && TensorPrimitives.Min(data) < 0)
            throw new ArgumentOutOfRangeException(nameof(x), $"{op}: input {x.Describe()} has negative values (min {TensorPrimitives.Min(data)}), which give NaN.");
    }
}
