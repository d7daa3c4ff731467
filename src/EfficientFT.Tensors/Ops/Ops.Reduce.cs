using System.Numerics.Tensors;

namespace EfficientFT.Tensors;

public static partial class Ops
{
    /// <summary>Sum of every element, as a scalar (shape []).</summary>
    public static Tensor Sum(Tensor x)
    {
        x = x.Contiguous();
        var output = Tensor.Scalar(TensorPrimitives.Sum(x.AsSpan()));
        return Record(output, "sum", [x], dy =>
        {
            var dx = GradOf(x);
            TensorPrimitives.Add(dx, dy.AsSpan()[0], dx);
        });
    }

    /// <summary>Mean of every element, as a scalar.</summary>
    public static Tensor Mean(Tensor x) => MulScalar(Sum(x), 1f / Math.Max(1, x.Size));

    /// <summary>Sum over the given axes; with <paramref name="keepDim"/> the reduced axes stay with extent 1.</summary>
    public static Tensor Sum(Tensor x, int[] axes, bool keepDim = false)
    {
        var normalized = axes.Select(a => Shapes.NormalizeAxis(a, x.Rank, "sum")).Distinct().OrderDescending().ToArray();
        var result = x;
        foreach (var axis in normalized) result = SumAxis(result, axis);
        if (keepDim) return result;
        var shape = x.ShapeArray().Where((_, i) => !normalized.Contains(i)).ToArray();
        return Reshape(result, shape);
    }

    /// <summary>Mean over the given axes.</summary>
    public static Tensor Mean(Tensor x, int[] axes, bool keepDim = false)
    {
        var count = axes.Select(a => x.Dim(a)).Aggregate(1, (p, d) => p * d);
        return MulScalar(Sum(x, axes, keepDim), 1f / Math.Max(1, count));
    }

    /// <summary>Sum over one axis, keeping it with extent 1: [outer, n, inner] → [outer, 1, inner].</summary>
    private static Tensor SumAxis(Tensor x, int axis)
    {
        x = x.Contiguous();
        var shape = x.ShapeArray();
        var n = shape[axis];
        var inner = Shapes.Size(shape.AsSpan(axis + 1));
        var outer = Shapes.Size(shape.AsSpan(0, axis));
        shape[axis] = 1;
        var output = Tensor.Zeros(shape);
        var xs = x.AsSpan();
        var ys = output.AsSpan();
        for (var o = 0; o < outer; o++)
        {
            var y = ys.Slice(o * inner, inner);
            for (var i = 0; i < n; i++) TensorPrimitives.Add(y, xs.Slice((o * n + i) * inner, inner), y);
        }
        return Record(output, "sum_axis", [x], dy =>
        {
            var dx = GradOf(x);
            var g = dy.AsSpan();
            for (var o = 0; o < outer; o++)
            for (var i = 0; i < n; i++)
            {
                var target = dx.Slice((o * n + i) * inner, inner);
                TensorPrimitives.Add(target, g.Slice(o * inner, inner), target);
            }
        });
    }

    /// <summary>
    /// L2 norm of each vector along <paramref name="axis"/> of a matrix: axis 1 gives one norm per row (DoRA's
    /// ‖W‖ per output feature), axis 0 one per column. The result keeps the axis with extent 1. Call
    /// <see cref="Tensor.Detach"/> on it where the norm must be treated as a constant (DoRA §4.3).
    /// </summary>
    public static Tensor VectorNorm(Tensor x, int axis)
    {
        if (x.Rank != 2) throw new ArgumentException($"vector_norm: {x.Describe()} is not a matrix.");
        axis = Shapes.NormalizeAxis(axis, 2, "vector_norm");
        x = x.Contiguous();
        var (rows, cols) = (x.Dim(0), x.Dim(1));
        var output = Tensor.Zeros(axis == 1 ? [rows, 1] : [1, cols]);
        var xs = x.AsSpan();
        var ys = output.AsSpan();
        if (axis == 1)
        {
            for (var r = 0; r < rows; r++) ys[r] = TensorPrimitives.Norm(xs.Slice(r * cols, cols));
        }
        else
        {
            var sq = new double[cols];
            for (var r = 0; r < rows; r++)
            for (var c = 0; c < cols; c++)
                sq[c] += (double)xs[r * cols + c] * xs[r * cols + c];
            for (var c = 0; c < cols; c++) ys[c] = (float)Math.Sqrt(sq[c]);
        }
        return Record(output, "vector_norm", [x], dy =>
        {
            // d‖v‖/dv = v/‖v‖; a zero vector has no direction, and its subgradient 0 is taken.
            var dx = GradOf(x);
            var g = dy.AsSpan();
            var xv = x.AsSpan();
            var norms = output.AsSpan();
            for (var r = 0; r < rows; r++)
            for (var c = 0; c < cols; c++)
            {
                var k = axis == 1 ? r : c;
                if (norms[k] > 0) dx[r * cols + c] += g[k] * xv[r * cols + c] / norms[k];
            }
        });
    }
}
