using System.Runtime.InteropServices;
using EfficientFT.Tensors;

namespace EfficientFT.Models.SafeTensors;

/// <summary>
/// One tensor to be written: its name, dtype, shape and a way to produce its bytes. Float32 tensors are converted
/// to the chosen dtype piece by piece while the file is written, so saving never holds a second copy of a model.
/// </summary>
public sealed class SafeTensorsEntry
{
    private const int ChunkElements = 1 << 16;

    private readonly long[] _shape;
    private readonly Action<Stream> _write;

    private SafeTensorsEntry(string name, SafeTensorsDType dtype, long[] shape, Action<Stream> write)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        Name = name;
        DType = dtype;
        _shape = shape;
        _write = write;
        long count = 1;
        foreach (var d in shape)
        {
            if (d < 0) throw new ArgumentException($"Tensor '{name}': shape [{string.Join(", ", shape)}] has a negative extent.");
            count = checked(count * d);
        }
        ByteLength = checked(count * dtype.ElementSize());
    }

    public string Name { get; }

    public SafeTensorsDType DType { get; }

    public IReadOnlyList<long> Shape => _shape;

    public long ByteLength { get; }

    /// <summary>
    /// A tensor saved as <paramref name="dtype"/> (F32, or F16/BF16 rounded to nearest even); one held in bfloat16 is
    /// read from its bits as it is written.
    /// </summary>
    public static SafeTensorsEntry FromTensor(string name, Tensor tensor, SafeTensorsDType dtype = SafeTensorsDType.F32)
    {
        if (dtype is not (SafeTensorsDType.F32 or SafeTensorsDType.F16 or SafeTensorsDType.BF16))
            throw new ArgumentException($"Tensor '{name}': float tensors are saved as F32, F16 or BF16, not {dtype.HeaderName()}.", nameof(dtype));
        var shape = Array.ConvertAll(tensor.ShapeArray(), d => (long)d);
        // A held tensor stays held: its bits are written as they are for BF16, else widened chunk by chunk. A packed
        // one is unpacked only when written, so saving a model holds one unpacked weight at a time, not all of them.
        var held = tensor.IsBFloat16 || tensor.IsPacked ? tensor : tensor.Contiguous();
        return new SafeTensorsEntry(name, dtype, shape, stream =>
        {
            var source = held.IsPacked ? held.Contiguous() : held;
            if (source.IsBFloat16 && dtype == SafeTensorsDType.BF16)
            {
                stream.Write(MemoryMarshal.AsBytes(source.AsBFloat16Span()));
                return;
            }
            var chunk = Math.Min(source.Size, ChunkElements);
            var buffer = new byte[chunk * dtype.ElementSize()];
            var widened = source.IsBFloat16 ? new float[chunk] : null;
            for (var start = 0; start < source.Size; start += ChunkElements)
            {
                var count = Math.Min(ChunkElements, source.Size - start);
                var values = widened == null ? source.AsSpan().Slice(start, count) : widened.AsSpan(0, count);
                if (widened != null) BFloat16.Widen(source.AsBFloat16Span().Slice(start, count), values);
                var bytes = buffer.AsSpan(0, count * dtype.ElementSize());
                DTypeConversion.FromSingle(values, dtype, bytes);
                stream.Write(bytes);
            }
        });
    }

    /// <summary>
    /// Elements of a primitive type stored as <paramref name="dtype"/>, whose element size must equal
    /// sizeof(<typeparamref name="T"/>), e.g. <c>FromValues("idx", SafeTensorsDType.I64, longs, 2, 7)</c>.
    /// </summary>
    public static SafeTensorsEntry FromValues<T>(string name, SafeTensorsDType dtype, T[] values, params long[] shape)
        where T : unmanaged
    {
        if (Marshal.SizeOf<T>() != dtype.ElementSize())
            throw new ArgumentException($"Tensor '{name}': {typeof(T).Name} elements are not {dtype.HeaderName()} elements.", nameof(values));
        var entry = new SafeTensorsEntry(name, dtype, (long[])shape.Clone(),
            stream => stream.Write(MemoryMarshal.AsBytes(values.AsSpan())));
        if (entry.ByteLength != (long)values.Length * dtype.ElementSize())
            throw new ArgumentException(
                $"Tensor '{name}': {values.Length} values do not fill shape [{string.Join(", ", shape)}].", nameof(values));
        return entry;
    }

    /// <summary>Raw little-endian bytes of <paramref name="dtype"/> elements, written as they are.</summary>
    public static SafeTensorsEntry FromBytes(string name, SafeTensorsDType dtype, byte[] data, params long[] shape)
    {
        var entry = new SafeTensorsEntry(name, dtype, (long[])shape.Clone(), stream => stream.Write(data));
        if (entry.ByteLength != data.Length)
            throw new ArgumentException(
                $"Tensor '{name}': {data.Length} bytes do not fill dtype {dtype.HeaderName()} shape [{string.Join(", ", shape)}] ({entry.ByteLength} bytes).");
        return entry;
    }

    internal void WriteData(Stream stream) => _write(stream);
}
