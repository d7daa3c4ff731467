using System.Numerics.Tensors;

namespace EfficientFT.Tensors;

public static partial class Ops
{
    public static Tensor Add(Tensor a, Tensor b) => Binary(a, b, BinaryOp.Add);

    public static Tensor Sub(Tensor a, Tensor b) => Binary(a, b, BinaryOp.Sub);

    public static Tensor Mul(Tensor a, Tensor b) => Binary(a, b, BinaryOp.Mul);

    public static Tensor Div(Tensor a, Tensor b) => Binary(a, b, BinaryOp.Div);

    /// <summary>Elementwise a ∘ b with NumPy broadcasting.</summary>
    private static Tensor Binary(Tensor a, Tensor b, BinaryOp op)
    {
        var name = op.ToString().ToLowerInvariant();
        var shape = Shapes.Broadcast(a.Shape, b.Shape, name);
        a = a.Contiguous();
        b = b.Contiguous();
        if (Shapes.SameShape(a.ShapeRef, shape) && Shapes.SameShape(b.ShapeRef, shape)) return Elementwise(a, b, op, name, shape);
        var output = Tensor.Uninitialized(shape);
        BroadcastKernel.Apply(a.AsSpan(), a.ShapeRef, b.AsSpan(), b.ShapeRef, output.AsSpan(), shape, op);
        return Record(output, name, [a, b], dy =>
        {
            var g = dy.AsSpan();
            var ownedByA = false;
            if (NeedsGrad(a))
            {
                switch (op)
                {
                    case BinaryOp.Add:
                    case BinaryOp.Sub:
                        // b, below, only reads dy, so a may take its buffer over.
                        ownedByA = ReduceGradient(a, dy, shape, mayTakeOver: true);
                        break;
                    default:
                        var t = new float[g.Length];
                        BroadcastKernel.Apply(g, shape, b.AsSpan(), b.ShapeRef, t, shape, op);
                        BroadcastKernel.ReduceInto(t, shape, GradOf(a), a.ShapeRef);
                        break;
                }
            }
            if (NeedsGrad(b))
            {
                switch (op)
                {
                    case BinaryOp.Add:
                        ReduceGradient(b, dy, shape, mayTakeOver: !ownedByA);
                        break;
                    case BinaryOp.Sub:
                    {
                        var t = new float[g.Length];
                        TensorPrimitives.Negate(g, t);
                        BroadcastKernel.ReduceInto(t, shape, GradOf(b), b.ShapeRef);
                        break;
                    }
                    case BinaryOp.Mul:
                    {
                        var t = new float[g.Length];
                        BroadcastKernel.Apply(g, shape, a.AsSpan(), a.ShapeRef, t, shape, BinaryOp.Mul);
                        BroadcastKernel.ReduceInto(t, shape, GradOf(b), b.ShapeRef);
                        break;
                    }
                    case BinaryOp.Div:
                    {
                        // d(a/b)/db = -(a/b)/b = -y/b: reuse the output instead of recomputing a/b².
                        var t = new float[g.Length];
                        TensorPrimitives.Multiply(g, output.AsSpan(), t);
                        TensorPrimitives.Negate(t, t);
                        BroadcastKernel.Apply(t, shape, b.AsSpan(), b.ShapeRef, t, shape, BinaryOp.Div);
                        BroadcastKernel.ReduceInto(t, shape, GradOf(b), b.ShapeRef);
                        break;
                    }
                }
            }
        });
    }

    /// <summary>
    /// a ∘ b for operands of the output's shape, the common case in a transformer (residual adds, SwiGLU's gate
    /// product): forward and backward run in parallel chunks, and backward writes each gradient directly instead of
    /// through a temporary of the output's size.
    /// </summary>
    private static Tensor Elementwise(Tensor a, Tensor b, BinaryOp op, string name, int[] shape)
    {
        var (aData, bData) = (a.Storage, b.Storage);
        var output = Tensor.Uninitialized(shape);
        var outData = output.Storage;
        var size = output.Size;
        Threading.For(size, 2, (s, e) =>
        {
            var x = aData.AsSpan(s, e - s);
            var y = bData.AsSpan(s, e - s);
            var o = outData.AsSpan(s, e - s);
            switch (op)
            {
                case BinaryOp.Add: TensorPrimitives.Add(x, y, o); break;
                case BinaryOp.Sub: TensorPrimitives.Subtract(x, y, o); break;
                case BinaryOp.Mul: TensorPrimitives.Multiply(x, y, o); break;
                default: TensorPrimitives.Divide(x, y, o); break;
            }
        });
        return Record(output, name, [a, b], dy =>
        {
            var g = dy.Storage;
            switch (op)
            {
                case BinaryOp.Add:
                {
                    var ownedByA = NeedsGrad(a) && ReduceGradient(a, dy, shape, mayTakeOver: true);
                    if (NeedsGrad(b)) ReduceGradient(b, dy, shape, mayTakeOver: !ownedByA);
                    break;
                }
                case BinaryOp.Sub:
                {
                    // b first: it only reads dy, which a may then take over.
                    if (NeedsGrad(b))
                        ElementwiseGradient(b, size, (s, e, d, fresh) =>
                        {
                            if (fresh) TensorPrimitives.Negate(g.AsSpan(s, e - s), d);
                            else TensorPrimitives.Subtract(d, g.AsSpan(s, e - s), d);
                        });
                    if (NeedsGrad(a)) ReduceGradient(a, dy, shape, mayTakeOver: true);
                    break;
                }
                case BinaryOp.Mul:
                    if (NeedsGrad(a)) ElementwiseGradient(a, size, (s, e, d, fresh) => MultiplyInto(g.AsSpan(s, e - s), bData.AsSpan(s, e - s), d, fresh));
                    if (NeedsGrad(b)) ElementwiseGradient(b, size, (s, e, d, fresh) => MultiplyInto(g.AsSpan(s, e - s), aData.AsSpan(s, e - s), d, fresh));
                    break;
                default:
                    // d(a/b)/da = 1/b; d(a/b)/db = -(a/b)/b = -y/b, reusing the output instead of recomputing a/b².
                    if (NeedsGrad(a))
                        ElementwiseGradient(a, size, (s, e, d, fresh) =>
                        {
                            for (var i = 0; i < d.Length; i++) d[i] = (fresh ? 0f : d[i]) + g[s + i] / bData[s + i];
                        });
                    if (NeedsGrad(b))
                        ElementwiseGradient(b, size, (s, e, d, fresh) =>
                        {
                            for (var i = 0; i < d.Length; i++) d[i] = (fresh ? 0f : d[i]) + -(g[s + i] * outData[s + i]) / bData[s + i];
                        });
                    break;
            }
        });
    }

    private static void MultiplyInto(ReadOnlySpan<float> g, ReadOnlySpan<float> other, Span<float> d, bool fresh)
    {
        if (fresh) TensorPrimitives.Multiply(g, other, d);
        else TensorPrimitives.MultiplyAdd(g, other, d, d);
    }

    private delegate void GradientChunk(int start, int end, Span<float> gradient, bool fresh);

    /// <summary>
    /// Runs <paramref name="chunk"/> over target's gradient in parallel chunks of elements; it writes its chunk when
    /// <c>fresh</c> (the buffer is new and uncleared) and adds to it otherwise.
    /// </summary>
    private static void ElementwiseGradient(Tensor target, int size, GradientChunk chunk)
    {
        var gs = GradStorage(target, out var fresh);
        Threading.For(size, 2, (s, e) => chunk(s, e, gs.AsSpan(s, e - s), fresh));
    }

    /// <summary>
    /// Adds dy, summed over the axes <paramref name="target"/> was broadcast along, to its gradient. A gradient of the
    /// output's own shape is dy itself: taken over when <paramref name="mayTakeOver"/> (nothing writes dy afterwards),
    /// else copied or added. Returns whether dy's buffer now belongs to target.
    /// </summary>
    private static bool ReduceGradient(Tensor target, Tensor dy, int[] shape, bool mayTakeOver)
    {
        if (!Shapes.SameShape(target.ShapeRef, shape))
            BroadcastKernel.ReduceInto(dy.AsSpan(), shape, GradOf(target), target.ShapeRef);
        else if (mayTakeOver)
            Autograd.Backprop.AccumulateOwned(target, dy);
        else
            Autograd.Backprop.Accumulate(target, dy.AsSpan());
        return mayTakeOver && Shapes.SameShape(target.ShapeRef, shape);
    }

    /// <summary>x + s.</summary>
    public static Tensor AddScalar(Tensor x, float s)
    {
        x = x.Contiguous();
        var output = Tensor.Uninitialized(x.ShapeArray());
        TensorPrimitives.Add(x.AsSpan(), s, output.AsSpan());
        return Record(output, "add_scalar", [x], dy => Autograd.Backprop.AccumulateOwned(x, dy));
    }

    /// <summary>x · s.</summary>
    public static Tensor MulScalar(Tensor x, float s)
    {
        x = x.Contiguous();
        var output = Tensor.Uninitialized(x.ShapeArray());
        var (xs, ys) = (x.Storage, output.Storage);
        Threading.For(x.Size, 2, (start, end) =>
            TensorPrimitives.Multiply(xs.AsSpan(start, end - start), s, ys.AsSpan(start, end - start)));
        return Record(output, "mul_scalar", [x], dy =>
        {
            var g = dy.Storage;
            ElementwiseGradient(x, x.Size, (start, end, dx, fresh) =>
            {
                if (fresh) TensorPrimitives.Multiply(g.AsSpan(start, end - start), s, dx);
                else TensorPrimitives.MultiplyAdd(g.AsSpan(start, end - start), s, dx, dx);
            });
        });
    }

    /// <summary>s / x.</summary>
    public static Tensor ScalarDiv(float s, Tensor x)
    {
        x = x.Contiguous();
        var output = Tensor.Uninitialized(x.ShapeArray());
        TensorPrimitives.Divide(s, x.AsSpan(), output.AsSpan());
        return Record(output, "scalar_div", [x], dy =>
        {
            // d(s/x)/dx = -s/x² = -y/x.
            var t = new float[x.Size];
            TensorPrimitives.Multiply(dy.AsSpan(), output.AsSpan(), t);
            TensorPrimitives.Divide(t, x.AsSpan(), t);
            var dx = GradOf(x);
            TensorPrimitives.Subtract(dx, t, dx);
        });
    }
}

internal enum BinaryOp
{
    Add,
    Sub,
    Mul,
    Div,
}

/// <summary>
/// Broadcast elementwise kernels. The output is walked row by row over its last axis; along that axis each input
/// either runs with stride 1 or repeats one value, so every row is one vectorised TensorPrimitives call.
/// </summary>
internal static class BroadcastKernel
{
    public static void Apply(ReadOnlySpan<float> a, int[] aShape, ReadOnlySpan<float> b, int[] bShape,
        Span<float> y, int[] yShape, BinaryOp op)
    {
        if (Shapes.SameShape(aShape, yShape) && Shapes.SameShape(bShape, yShape))
        {
            Row(a, b, y, op, aScalar: false, bScalar: false);
            return;
        }

        var rank = yShape.Length;
        var inner = rank == 0 ? 1 : yShape[^1];
        var rows = inner == 0 ? 0 : y.Length / inner;
        var aStrides = BroadcastStrides(aShape, yShape);
        var bStrides = BroadcastStrides(bShape, yShape);
        var aScalar = rank > 0 && aStrides[^1] == 0;
        var bScalar = rank > 0 && bStrides[^1] == 0;
        var index = new int[Math.Max(0, rank - 1)];
        for (var r = 0; r < rows; r++)
        {
            var aOff = 0;
            var bOff = 0;
            for (var d = 0; d < index.Length; d++)
            {
                aOff += index[d] * aStrides[d];
                bOff += index[d] * bStrides[d];
            }
            Row(aScalar ? a.Slice(aOff, 1) : a.Slice(aOff, inner), bScalar ? b.Slice(bOff, 1) : b.Slice(bOff, inner),
                y.Slice(r * inner, inner), op, aScalar, bScalar);
            Increment(index, yShape);
        }
    }

    /// <summary>Adds the out-shaped <paramref name="g"/> into <paramref name="dx"/>, summing over broadcast axes.</summary>
    public static void ReduceInto(ReadOnlySpan<float> g, int[] gShape, Span<float> dx, int[] xShape)
    {
        if (Shapes.SameShape(gShape, xShape))
        {
            TensorPrimitives.Add(dx, g, dx);
            return;
        }
        var rank = gShape.Length;
        var inner = gShape[^1];
        var rows = inner == 0 ? 0 : g.Length / inner;
        var strides = BroadcastStrides(xShape, gShape);
        var scalar = strides[^1] == 0;
        var index = new int[rank - 1];
        for (var r = 0; r < rows; r++)
        {
            var off = 0;
            for (var d = 0; d < index.Length; d++) off += index[d] * strides[d];
            var row = g.Slice(r * inner, inner);
            if (scalar)
            {
                dx[off] += TensorPrimitives.Sum(row);
            }
            else
            {
                var target = dx.Slice(off, inner);
                TensorPrimitives.Add(target, row, target);
            }
            Increment(index, gShape);
        }
    }

    private static void Row(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> y, BinaryOp op, bool aScalar, bool bScalar)
    {
        if (aScalar && bScalar)
        {
            y.Fill(Scalar(a[0], b[0], op));
            return;
        }
        switch (op)
        {
            case BinaryOp.Add when bScalar: TensorPrimitives.Add(a, b[0], y); break;
            case BinaryOp.Add when aScalar: TensorPrimitives.Add(b, a[0], y); break;
            case BinaryOp.Add: TensorPrimitives.Add(a, b, y); break;
            case BinaryOp.Sub when bScalar: TensorPrimitives.Subtract(a, b[0], y); break;
            case BinaryOp.Sub when aScalar: TensorPrimitives.Subtract(a[0], b, y); break;
            case BinaryOp.Sub: TensorPrimitives.Subtract(a, b, y); break;
            case BinaryOp.Mul when bScalar: TensorPrimitives.Multiply(a, b[0], y); break;
            case BinaryOp.Mul when aScalar: TensorPrimitives.Multiply(b, a[0], y); break;
            case BinaryOp.Mul: TensorPrimitives.Multiply(a, b, y); break;
            case BinaryOp.Div when bScalar: TensorPrimitives.Divide(a, b[0], y); break;
            case BinaryOp.Div when aScalar: TensorPrimitives.Divide(a[0], b, y); break;
            case BinaryOp.Div: TensorPrimitives.Divide(a, b, y); break;
        }
    }

    private static float Scalar(float a, float b, BinaryOp op) => op switch
    {
        BinaryOp.Add => a + b,
        BinaryOp.Sub => a - b,
        BinaryOp.Mul => a * b,
        _ => a / b,
    };

    /// <summary>Strides of <paramref name="shape"/> aligned to <paramref name="target"/>, 0 along broadcast axes.</summary>
    private static int[] BroadcastStrides(int[] shape, int[] target)
    {
        var strides = new int[target.Length];
        var own = Shapes.Strides(shape);
        var shift = target.Length - shape.Length;
        for (var i = 0; i < shape.Length; i++)
            strides[i + shift] = shape[i] == 1 && target[i + shift] != 1 ? 0 : own[i];
        return strides;
    }

    private static void Increment(int[] index, int[] shape)
    {
        for (var d = index.Length - 1; d >= 0; d--)
        {
            if (++index[d] < shape[d]) return;
            index[d] = 0;
        }
    }
}
