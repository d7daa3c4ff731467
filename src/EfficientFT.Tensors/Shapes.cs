namespace EfficientFT.Tensors;

/// <summary>Shape arithmetic and the checks every op runs before touching data.</summary>
public static class Shapes
{
    public static int Size(ReadOnlySpan<int> shape)
    {
        long size = 1;
        foreach (var d in shape) size *= d;
        if (size > int.MaxValue) throw new ArgumentException($"Shape {Format(shape)} has {size} elements, more than a tensor can hold.");
        return (int)size;
    }

    public static string Format(ReadOnlySpan<int> shape) => "[" + string.Join(", ", shape.ToArray()) + "]";

    internal static int[] Check(int[] shape)
    {
        foreach (var d in shape)
            if (d < 0) throw new ArgumentException($"Shape {Format(shape)} has a negative extent.");
        return shape;
    }

    internal static int NormalizeAxis(int axis, int rank, string op)
    {
        var a = axis < 0 ? axis + rank : axis;
        if (a < 0 || a >= rank) throw new ArgumentException($"{op}: axis {axis} is out of range for a tensor of rank {rank}.");
        return a;
    }

    internal static int FlatIndex(ReadOnlySpan<int> shape, ReadOnlySpan<int> index)
    {
        if (index.Length != shape.Length)
            throw new ArgumentException($"Index of rank {index.Length} for a tensor of shape {Format(shape)}.");
        var flat = 0;
        for (var i = 0; i < shape.Length; i++)
        {
            if ((uint)index[i] >= (uint)shape[i])
                throw new IndexOutOfRangeException($"Index {Format(index)} is outside shape {Format(shape)}.");
            flat = flat * shape[i] + index[i];
        }
        return flat;
    }

    /// <summary>Row-major strides of a contiguous tensor.</summary>
    internal static int[] Strides(ReadOnlySpan<int> shape)
    {
        var strides = new int[shape.Length];
        var s = 1;
        for (var i = shape.Length - 1; i >= 0; i--)
        {
            strides[i] = s;
            s *= shape[i];
        }
        return strides;
    }

    /// <summary>NumPy broadcasting of two shapes, or an exception naming the op and both shapes.</summary>
    internal static int[] Broadcast(ReadOnlySpan<int> a, ReadOnlySpan<int> b, string op)
    {
        var rank = Math.Max(a.Length, b.Length);
        var result = new int[rank];
        for (var i = 0; i < rank; i++)
        {
            var da = i < rank - a.Length ? 1 : a[i - (rank - a.Length)];
            var db = i < rank - b.Length ? 1 : b[i - (rank - b.Length)];
            if (da != db && da != 1 && db != 1)
                throw new ArgumentException($"{op}: shapes {Format(a)} and {Format(b)} do not broadcast (axis {i}: {da} vs {db}).");
            result[i] = da == 1 ? db : da;
        }
        return result;
    }

    public static bool SameShape(ReadOnlySpan<int> a, ReadOnlySpan<int> b) => a.SequenceEqual(b);
}
