namespace EfficientFT.Tensors;

public static partial class Ops
{
    /// <summary>Reorders the axes: output axis i is input axis perm[i]. Copies.</summary>
    public static Tensor Permute(Tensor x, params int[] perm)
    {
        if (perm.Length != x.Rank || perm.Distinct().Count() != perm.Length || perm.Any(p => p < 0 || p >= x.Rank))
            throw new ArgumentException($"permute: {Shapes.Format(perm)} is not a permutation of the axes of {x.Describe()}.");
        x = x.Contiguous();
        var inShape = x.ShapeArray();
        var outShape = perm.Select(p => inShape[p]).ToArray();
        var output = Tensor.Zeros(outShape);
        PermuteKernel(x.AsSpan(), inShape, perm, output.AsSpan(), accumulate: false);
        var inverse = new int[perm.Length];
        for (var i = 0; i < perm.Length; i++) inverse[perm[i]] = i;
        return Record(output, "permute", [x], dy => PermuteKernel(dy.AsSpan(), outShape, inverse, GradOf(x), accumulate: true));
    }

    private static void PermuteKernel(ReadOnlySpan<float> x, int[] inShape, int[] perm, Span<float> y, bool accumulate)
    {
        var rank = inShape.Length;
        if (rank == 0)
        {
            if (accumulate) y[0] += x[0]; else y[0] = x[0];
            return;
        }
        var inStrides = Shapes.Strides(inShape);
        var outShape = perm.Select(p => inShape[p]).ToArray();
        var stridesInOutOrder = perm.Select(p => inStrides[p]).ToArray();
        var index = new int[rank];
        var inner = outShape[^1];
        var innerStride = stridesInOutOrder[^1];
        var rows = inner == 0 ? 0 : y.Length / inner;
        for (var r = 0; r < rows; r++)
        {
            var off = 0;
            for (var d = 0; d < rank - 1; d++) off += index[d] * stridesInOutOrder[d];
            var dst = y.Slice(r * inner, inner);
            for (var j = 0; j < inner; j++)
            {
                if (accumulate) dst[j] += x[off + j * innerStride];
                else dst[j] = x[off + j * innerStride];
            }
            for (var d = rank - 2; d >= 0; d--)
            {
                if (++index[d] < outShape[d]) break;
                index[d] = 0;
            }
        }
    }

    /// <summary>Elements [start, start + length) along <paramref name="axis"/>. Copies.</summary>
    public static Tensor Slice(Tensor x, int axis, int start, int length)
    {
        axis = Shapes.NormalizeAxis(axis, x.Rank, "slice");
        var extent = x.Dim(axis);
        if (start < 0 || length < 0 || start + length > extent)
            throw new ArgumentException($"slice: [{start}, {start + length}) is outside axis {axis} of {x.Describe()} (extent {extent}).");
        x = x.Contiguous();
        var shape = x.ShapeArray();
        var inner = Shapes.Size(shape.AsSpan(axis + 1));
        var outer = Shapes.Size(shape.AsSpan(0, axis));
        shape[axis] = length;
        var output = Tensor.Zeros(shape);
        var xs = x.AsSpan();
        var ys = output.AsSpan();
        for (var o = 0; o < outer; o++)
            xs.Slice((o * extent + start) * inner, length * inner).CopyTo(ys.Slice(o * length * inner, length * inner));
        return Record(output, "slice", [x], dy =>
        {
            var dx = GradOf(x);
            var g = dy.AsSpan();
            for (var o = 0; o < outer; o++)
            {
                var target = dx.Slice((o * extent + start) * inner, length * inner);
                System.Numerics.Tensors.TensorPrimitives.Add(target, g.Slice(o * length * inner, length * inner), target);
            }
        });
    }

    /// <summary>Joins tensors along <paramref name="axis"/>; all other extents must agree.</summary>
    public static Tensor Concat(IReadOnlyList<Tensor> tensors, int axis)
    {
        if (tensors.Count == 0) throw new ArgumentException("concat: no tensors.");
        var first = tensors[0];
        axis = Shapes.NormalizeAxis(axis, first.Rank, "concat");
        var parts = tensors.Select(t => t.Contiguous()).ToArray();
        foreach (var t in parts)
        {
            if (t.Rank != first.Rank || Enumerable.Range(0, t.Rank).Any(d => d != axis && t.Dim(d) != first.Dim(d)))
                throw new ArgumentException($"concat: {t.Describe()} does not match {first.Describe()} outside axis {axis}.");
        }
        var shape = first.ShapeArray();
        shape[axis] = parts.Sum(t => t.Dim(axis));
        var inner = Shapes.Size(shape.AsSpan(axis + 1));
        var outer = Shapes.Size(shape.AsSpan(0, axis));
        var output = Tensor.Zeros(shape);
        var ys = output.AsSpan();
        var rowLength = shape[axis] * inner;
        var offset = 0;
        foreach (var t in parts)
        {
            var chunk = t.Dim(axis) * inner;
            for (var o = 0; o < outer; o++) t.AsSpan().Slice(o * chunk, chunk).CopyTo(ys.Slice(o * rowLength + offset, chunk));
            offset += chunk;
        }
        return Record(output, "concat", parts, dy =>
        {
            var g = dy.AsSpan();
            var off = 0;
            foreach (var t in parts)
            {
                var chunk = t.Dim(axis) * inner;
                if (NeedsGrad(t))
                {
                    var dx = GradOf(t);
                    for (var o = 0; o < outer; o++)
                    {
                        var target = dx.Slice(o * chunk, chunk);
                        System.Numerics.Tensors.TensorPrimitives.Add(target, g.Slice(o * rowLength + off, chunk), target);
                    }
                }
                off += chunk;
            }
        });
    }

    /// <summary>The elements at the given flat (row-major) indices, as a vector: SIFT's sparse entries.</summary>
    public static Tensor Gather(Tensor x, int[] indices)
    {
        x = x.Contiguous();
        CheckIndices(indices, x.Size, "gather", x);
        var output = Tensor.Zeros(indices.Length);
        var xs = x.AsSpan();
        var ys = output.AsSpan();
        for (var i = 0; i < indices.Length; i++) ys[i] = xs[indices[i]];
        return Record(output, "gather", [x], dy =>
        {
            var dx = GradOf(x);
            var g = dy.AsSpan();
            for (var i = 0; i < indices.Length; i++) dx[indices[i]] += g[i];
        });
    }

    /// <summary>A copy of <paramref name="x"/> with <paramref name="values"/> added at the flat indices (repeats add up).</summary>
    public static Tensor ScatterAdd(Tensor x, int[] indices, Tensor values)
    {
        x = x.Contiguous();
        values = values.Contiguous();
        if (values.Size != indices.Length)
            throw new ArgumentException($"scatter_add: {indices.Length} indices but values {values.Describe()} has {values.Size} elements.");
        CheckIndices(indices, x.Size, "scatter_add", x);
        var output = Tensor.Zeros(x.ShapeArray());
        var ys = output.AsSpan();
        x.AsSpan().CopyTo(ys);
        var vs = values.AsSpan();
        for (var i = 0; i < indices.Length; i++) ys[indices[i]] += vs[i];
        return Record(output, "scatter_add", [x, values], dy =>
        {
            var g = dy.AsSpan();
            if (NeedsGrad(x)) Autograd.Backprop.Accumulate(x, g);
            if (NeedsGrad(values))
            {
                var dv = GradOf(values);
                for (var i = 0; i < indices.Length; i++) dv[i] += g[indices[i]];
            }
        });
    }

    private static void CheckIndices(int[] indices, int size, string op, Tensor x)
    {
        foreach (var i in indices)
            if ((uint)i >= (uint)size)
                throw new IndexOutOfRangeException($"{op}: flat index {i} is outside {x.Describe()} ({size} elements).");
    }
}
