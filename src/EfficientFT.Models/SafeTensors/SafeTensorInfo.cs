namespace EfficientFT.Models.SafeTensors;

/// <summary>One tensor's header entry: dtype, shape and where its bytes lie in the data buffer.</summary>
public sealed class SafeTensorInfo
{
    private readonly long[] _shape;

    internal SafeTensorInfo(string name, SafeTensorsDType dtype, long[] shape, long begin, long end, long elementCount)
    {
        Name = name;
        DType = dtype;
        _shape = shape;
        Begin = begin;
        End = end;
        ElementCount = elementCount;
    }

    public string Name { get; }

    public SafeTensorsDType DType { get; }

    /// <summary>The extent of each axis; empty for a scalar.</summary>
    public IReadOnlyList<long> Shape => _shape;

    /// <summary>Start of the tensor's bytes, relative to the data buffer that follows the header.</summary>
    public long Begin { get; }

    /// <summary>End (exclusive) of the tensor's bytes, relative to the data buffer.</summary>
    public long End { get; }

    public long ByteLength => End - Begin;

    public long ElementCount { get; }

    /// <summary>The shape as the int extents a <see cref="EfficientFT.Tensors.Tensor"/> takes.</summary>
    internal int[] IntShape(string file)
    {
        if (ElementCount > int.MaxValue)
            throw new SafeTensorsFormatException(file, Name,
                $"{ElementCount} elements do not fit in one tensor (at most {int.MaxValue}).");
        // A zero extent makes the element count 0 whatever the other extents are, so each is checked on its own.
        foreach (var d in _shape)
        {
            if (d > int.MaxValue)
                throw new SafeTensorsFormatException(file, Name,
                    $"extent {d} of shape [{string.Join(", ", _shape)}] does not fit in a tensor axis (at most {int.MaxValue}).");
        }
        return Array.ConvertAll(_shape, d => (int)d);
    }
}
