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
    public static Tensor Gelu(Tensor x) => Activation<GeluRule>(x, "gelu");

    /// <summary>SiLU (swish): x·σ(x), LLaMA's MLP activation.</summary>
    public static Tensor Silu(Tensor x) => Activation<SiluRule>(x, "silu");

    /// <summary>An activation's value and slope, per vector and per element with the same steps.</summary>
    private interface IActivationRule
    {
        static abstract Vector<float> Value(Vector<float> x);

        static abstract float Value(float x);

        /// <summary>dy/dx at x, given the output y there.</summary>
        static abstract Vector<float> Slope(Vector<float> x, Vector<float> y);

        static abstract float Slope(float x, float y);
    }

    /// <summary>
    /// An activation in one vector pass each way, through unchecked loads: sliced spans cost a quarter of GELU's
    /// backward on one thread (4.2 against 3.3 ms for 3.1 M elements, Zen 3). The rule is a struct type argument, so
    /// its methods are inlined into the loops.
    /// </summary>
    private static Tensor Activation<TRule>(Tensor x, string op) where TRule : struct, IActivationRule => Unary(x, op,
        (xs, ys) =>
        {
            ref var x0 = ref MemoryMarshal.GetReference(xs);
            ref var y0 = ref MemoryMarshal.GetReference(ys);
            var i = 0;
            for (; i <= xs.Length - Vector<float>.Count; i += Vector<float>.Count)
                TRule.Value(Vector.LoadUnsafe(ref x0, (nuint)i)).StoreUnsafe(ref y0, (nuint)i);
            for (; i < xs.Length; i++) ys[i] = TRule.Value(xs[i]);
        },
        (xs, ys, dy, dx) =>
        {
            // dx += slope·dy
            ref var x0 = ref MemoryMarshal.GetReference(xs);
            ref var y0 = ref MemoryMarshal.GetReference(ys);
            ref var g0 = ref MemoryMarshal.GetReference(dy);
            ref var d0 = ref MemoryMarshal.GetReference(dx);
            var i = 0;
            for (; i <= xs.Length - Vector<float>.Count; i += Vector<float>.Count)
            {
                var at = (nuint)i;
                var slope = TRule.Slope(Vector.LoadUnsafe(ref x0, at), Vector.LoadUnsafe(ref y0, at));
                Vector.FusedMultiplyAdd(slope, Vector.LoadUnsafe(ref g0, at), Vector.LoadUnsafe(ref d0, at)).StoreUnsafe(ref d0, at);
            }
            for (; i < xs.Length; i++) dx[i] = MathF.FusedMultiplyAdd(TRule.Slope(xs[i], ys[i]), dy[i], dx[i]);
        });

    /// <summary>
    /// x·Φ(x), with slope Φ(x) + x·φ(x), φ(x) = exp(−x²/2)/√(2π). Φ(x) comes back from the output as y/x (½ at x = 0):
    /// one division instead of erf's polynomial, and the same Φ forward used.
    /// </summary>
    private readonly struct GeluRule : IActivationRule
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector<float> Value(Vector<float> x) => x * Special.NormalCdf(x);

        public static float Value(float x) => x * Special.NormalCdf(x);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector<float> Slope(Vector<float> x, Vector<float> y)
        {
            var cdf = Vector.ConditionalSelect(Vector.Equals(x, Vector<float>.Zero), new Vector<float>(0.5f), y / x);
            return Vector.FusedMultiplyAdd(Special.Exp(x * x * -0.5f) * Special.InvSqrt2Pi, x, cdf);
        }

        public static float Slope(float x, float y) =>
            MathF.FusedMultiplyAdd(Special.Exp(x * x * -0.5f) * Special.InvSqrt2Pi, x, x == 0 ? 0.5f : y / x);
    }

    /// <summary>
    /// x·σ(x), with slope σ(x)·(1 + x·(1 − σ(x))). σ(x) comes back from the output as y/x only where x ≠ 0, so the
    /// slope recomputes it: a sigmoid pass into a scratch and a scalar loop over it took 94 ms of a
    /// Llama-3.2-1B-shaped step at two threads, against about 30 ms in the vector pass.
    /// </summary>
    private readonly struct SiluRule : IActivationRule
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector<float> Value(Vector<float> x) => x * Logistic(x);

        public static float Value(float x) => x * Logistic(x);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector<float> Slope(Vector<float> x, Vector<float> y)
        {
            var sigmoid = Logistic(x);
            return sigmoid * Vector.FusedMultiplyAdd(x, Vector<float>.One - sigmoid, Vector<float>.One);
        }

        public static float Slope(float x, float y)
        {
            var sigmoid = Logistic(x);
            return sigmoid * MathF.FusedMultiplyAdd(x, 1f - sigmoid, 1f);
        }

        /// <summary>σ(x) = 1/(1 + e⁻ˣ); 0 where e⁻ˣ overflows, 1 where it underflows.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static Vector<float> Logistic(Vector<float> x) => Vector<float>.One / (Vector<float>.One + Special.Exp(-x));

        private static float Logistic(float x) => 1f / (1f + Special.Exp(-x));
    }

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
