using EfficientFT.Tensors.Autograd;

namespace EfficientFT.Tensors;

/// <summary>
/// Every differentiable operation. Each op checks its arguments up front, computes its forward kernel, and, when
/// gradients are enabled and an input needs one, records a backward closure that adds into the gradients of the
/// inputs that need them and of no others (no weight gradient for frozen weights, no input gradient below the
/// lowest trainable parameter).
/// </summary>
public static partial class Ops
{
    /// <summary>
    /// Marks <paramref name="output"/> as produced by <paramref name="op"/> when recording is on and any input needs a
    /// gradient. The closure receives the output's gradient (contiguous, same shape as the output).
    /// </summary>
    internal static Tensor Record(Tensor output, string op, Tensor[] inputs, Action<Tensor> backward)
    {
        OpProfile.Forward(op, output);
        if (!WillRecord(inputs)) return output;
        output.RequiresGrad = true;
        output.GradFn = new Node(op, inputs, backward);
        return output;
    }

    /// <summary>Whether <see cref="Record"/> will record an op on these inputs, for ops that save extra state for backward.</summary>
    internal static bool WillRecord(params ReadOnlySpan<Tensor> inputs)
    {
        if (!GradMode.IsEnabled) return false;
        foreach (var input in inputs)
            if (input.RequiresGrad) return true;
        return false;
    }

    /// <summary>
    /// Records a function whose forward the caller computed, <paramref name="output"/> (a fresh tensor) from
    /// <paramref name="inputs"/>, with <paramref name="backward"/> as its gradient rule, as torch.autograd.Function
    /// does: given the output's gradient, the rule adds into the <see cref="GradientBuffer"/> of each input that
    /// requires one. For rules that belong to a method rather than to the engine, such as SIFT choosing its entries
    /// from the first gradient that reaches them. The output's gradient is only lent to the rule: its storage is
    /// reused once the rule returns, so the rule must not keep it.
    /// </summary>
    public static Tensor Function(string name, Tensor output, Tensor[] inputs, Action<Tensor> backward)
    {
        if (output.GradFn != null || Array.Exists(inputs, i => ReferenceEquals(i, output)))
            throw new ArgumentException($"{name}: the output must be a new tensor, not an input or another op's result.");
        return Record(output, name, inputs, backward);
    }

    /// <summary>The gradient of <paramref name="t"/>, created as zeros on first use, for a <see cref="Function"/> rule to add into.</summary>
    public static Span<float> GradientBuffer(Tensor t) => Backprop.GradBuffer(t);

    internal static bool NeedsGrad(Tensor t) => t.RequiresGrad;

    internal static Span<float> GradOf(Tensor t) => Backprop.GradBuffer(t);

    /// <summary>The gradient of <paramref name="t"/> to overwrite (new, uncleared) or add to; see <see cref="Backprop.GradBuffer(Tensor, out bool)"/>.</summary>
    internal static Span<float> GradOf(Tensor t, out bool overwrite) => Backprop.GradBuffer(t, out overwrite);

    /// <summary>The gradient array of <paramref name="t"/> (created as zeros if needed), for kernels run on threads.</summary>
    internal static float[] GradStorage(Tensor t)
    {
        Backprop.GradBuffer(t);
        return t.Grad!.Storage;
    }

    /// <summary>
    /// The gradient array of <paramref name="t"/> for a kernel that adds into it chunk by chunk on threads: when
    /// <paramref name="fresh"/> comes back true the array is new and uncleared, and each chunk clears its own part
    /// just before adding (see <see cref="ClearIfFresh"/>), while it is in cache, instead of one pass over all of it first.
    /// </summary>
    internal static float[] GradStorage(Tensor t, out bool fresh)
    {
        Backprop.GradBuffer(t, out fresh);
        return t.Grad!.Storage;
    }

    internal static Span<float> ClearIfFresh(float[] gradient, int start, int length, bool fresh)
    {
        var span = gradient.AsSpan(start, length);
        if (fresh) span.Clear();
        return span;
    }

    /// <summary>A contiguous copy of a transposed view.</summary>
    internal static Tensor Materialize(Tensor x)
    {
        var shape = x.ShapeArray();
        var (rows, cols) = (shape[^2], shape[^1]);
        var batch = x.Size / Math.Max(1, rows * cols);
        var output = Tensor.Uninitialized(shape);
        TransposeKernel.Forward(x.Storage, output.AsSpan(), batch, cols, rows, accumulate: false);
        return Record(output, "contiguous", [x], dy => Backprop.AccumulateOwned(x, dy));
    }

    /// <summary>A view with a new shape over the same elements; one extent may be -1.</summary>
    public static Tensor Reshape(Tensor x, params int[] shape)
    {
        var resolved = ResolveShape(x, shape);
        var src = x.Contiguous();
        var output = new Tensor(src.Storage, resolved);
        return Record(output, "reshape", [src], dy => Backprop.AccumulateOwned(src, dy));
    }

    private static int[] ResolveShape(Tensor x, int[] shape)
    {
        var resolved = (int[])shape.Clone();
        var inferred = -1;
        long known = 1;
        for (var i = 0; i < resolved.Length; i++)
        {
            if (resolved[i] == -1)
            {
                if (inferred >= 0) throw new ArgumentException($"Reshape: more than one -1 in {Shapes.Format(shape)}.");
                inferred = i;
            }
            else if (resolved[i] < 0)
            {
                throw new ArgumentException($"Reshape: negative extent in {Shapes.Format(shape)}.");
            }
            else
            {
                known *= resolved[i];
            }
        }
        if (inferred >= 0)
        {
            if (known == 0 || x.Size % known != 0)
                throw new ArgumentException($"Reshape: cannot infer -1 in {Shapes.Format(shape)} for {x.Size} elements of {x.Describe()}.");
            resolved[inferred] = (int)(x.Size / known);
        }
        if (Shapes.Size(resolved) != x.Size)
            throw new ArgumentException($"Reshape: {x.Describe()} has {x.Size} elements; shape {Shapes.Format(shape)} holds {Shapes.Size(resolved)}.");
        return resolved;
    }

    /// <summary>Swaps the last two axes without copying.</summary>
    public static Tensor TransposeLast(Tensor x)
    {
        if (x.Rank < 2) throw new ArgumentException($"Transpose: {x.Describe()} has fewer than two axes.");
        var shape = x.ShapeArray();
        (shape[^1], shape[^2]) = (shape[^2], shape[^1]);
        var output = new Tensor(x.Storage, shape, transposed: !x.IsTransposed);
        var (rows, cols) = (shape[^2], shape[^1]);
        var batch = x.Size / Math.Max(1, rows * cols);
        return Record(output, "transpose", [x], dy =>
            TransposeKernel.Forward(dy.AsSpan(), GradOf(x), batch, rows, cols, accumulate: true));
    }

    /// <summary>
    /// How a matrix-product operand lies in storage: the span of its storage, whether the GEMM must read it
    /// transposed, and its storage row stride. <paramref name="logicalTranspose"/> asks for op(X) = Xᵀ.
    /// </summary>
    internal static (float[] Data, bool Transpose, int Ld) Operand(Tensor x, bool logicalTranspose)
    {
        var (rows, cols) = (x.Shape[^2], x.Shape[^1]);
        return x.IsTransposed
            ? (x.Storage, !logicalTranspose, rows)
            : (x.Storage, logicalTranspose, cols);
    }
}

/// <summary>Batched transpose of row-major [rows × cols] blocks into [cols × rows].</summary>
internal static class TransposeKernel
{
    public static void Forward(ReadOnlySpan<float> x, Span<float> y, int batch, int rows, int cols, bool accumulate)
    {
        var block = rows * cols;
        for (var b = 0; b < batch; b++)
        {
            var src = x.Slice(b * block, block);
            var dst = y.Slice(b * block, block);
            const int tile = 32;
            for (var i0 = 0; i0 < rows; i0 += tile)
            for (var j0 = 0; j0 < cols; j0 += tile)
            {
                var iEnd = Math.Min(rows, i0 + tile);
                var jEnd = Math.Min(cols, j0 + tile);
                for (var i = i0; i < iEnd; i++)
                for (var j = j0; j < jEnd; j++)
                {
                    if (accumulate) dst[j * rows + i] += src[i * cols + j];
                    else dst[j * rows + i] = src[i * cols + j];
                }
            }
        }
    }
}
