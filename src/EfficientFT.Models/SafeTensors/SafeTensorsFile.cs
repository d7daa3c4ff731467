using System.Buffers.Binary;
using System.IO.MemoryMappedFiles;
using System.Runtime.InteropServices;
using EfficientFT.Tensors;

namespace EfficientFT.Models.SafeTensors;

/// <summary>
/// A safetensors file opened for reading. The file is memory-mapped and only the header is parsed on open; a tensor's
/// bytes are read (and widened to float32) when it is asked for, so a multi-GB checkpoint is copied once, into the
/// tensors that are actually used, and never into an intermediate buffer.
/// </summary>
/// <remarks>Reads may run concurrently; <see cref="Dispose"/> must not race with them.</remarks>
public sealed unsafe class SafeTensorsFile : IDisposable
{
    /// <summary>Elements converted per step, so widening never needs a span longer than int.MaxValue bytes.</summary>
    private const int ChunkElements = 1 << 20;

    private static readonly IReadOnlyDictionary<string, string> EmptyMetadata = new Dictionary<string, string>();

    private readonly MemoryMappedFile _map;
    private readonly MemoryMappedViewAccessor _view;
    private readonly SafeTensorsHeader _header;
    private readonly byte* _data;
    private bool _disposed;

    private SafeTensorsFile(string path, MemoryMappedFile map, MemoryMappedViewAccessor view, byte* data, SafeTensorsHeader header)
    {
        Path = path;
        _map = map;
        _view = view;
        _data = data;
        _header = header;
    }

    /// <summary>The file this was opened from, as given to <see cref="Open"/>.</summary>
    public string Path { get; }

    /// <summary>The header's <c>__metadata__</c> map (empty when it has none).</summary>
    public IReadOnlyDictionary<string, string> Metadata => _header.Metadata ?? EmptyMetadata;

    /// <summary>Tensor names in the order their bytes lie in the file.</summary>
    public IReadOnlyList<string> Names => _header.Tensors.Select(t => t.Name).ToArray();

    /// <summary>Every tensor's header entry, in file order.</summary>
    public IReadOnlyList<SafeTensorInfo> Tensors => _header.Tensors;

    public bool Contains(string name) => _header.ByName.ContainsKey(name);

    public SafeTensorInfo GetInfo(string name) =>
        _header.ByName.TryGetValue(name, out var info)
            ? info
            : throw new KeyNotFoundException($"{Path}: no tensor named '{name}'.");

    /// <summary>
    /// Opens and validates <paramref name="path"/>. Throws <see cref="SafeTensorsFormatException"/> naming the file
    /// (and the tensor) when the header or the layout breaks the format.
    /// </summary>
    public static SafeTensorsFile Open(string path)
    {
        DTypeConversion.EnsureLittleEndian();
        // FileShare.Delete lets an atomic save replace this file while it is open; the mapping keeps the old bytes.
        var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete);
        MemoryMappedFile? map = null;
        MemoryMappedViewAccessor? view = null;
        var acquired = false;
        try
        {
            var length = stream.Length;
            if (length < 8)
                throw new SafeTensorsFormatException(path, null, $"the file has {length} bytes, fewer than the 8 of the header length.");
            map = MemoryMappedFile.CreateFromFile(stream, null, 0, MemoryMappedFileAccess.Read, HandleInheritability.None, leaveOpen: false);
            view = map.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
            byte* basePointer = null;
            view.SafeMemoryMappedViewHandle.AcquirePointer(ref basePointer);
            acquired = true;
            var file = basePointer + view.PointerOffset;

            var headerLength = BinaryPrimitives.ReadUInt64LittleEndian(new ReadOnlySpan<byte>(file, 8));
            if (headerLength > SafeTensorsHeader.MaxHeaderBytes)
                throw new SafeTensorsFormatException(path, null,
                    $"the header length {headerLength} exceeds the format's limit of {SafeTensorsHeader.MaxHeaderBytes} bytes.");
            if (8 + (long)headerLength > length)
                throw new SafeTensorsFormatException(path, null,
                    $"the header length {headerLength} runs past the end of the file ({length} bytes).");

            var dataOffset = 8 + (long)headerLength;
            var header = SafeTensorsHeader.Parse(new ReadOnlySpan<byte>(file + 8, (int)headerLength), length - dataOffset, path);
            return new SafeTensorsFile(path, map, view, file + dataOffset, header);
        }
        catch
        {
            if (acquired) view!.SafeMemoryMappedViewHandle.ReleasePointer();
            view?.Dispose();
            map?.Dispose();
            stream.Dispose();
            throw;
        }
    }

    /// <summary>Reads every tensor of <paramref name="path"/> as float32, keyed by name.</summary>
    public static Dictionary<string, Tensor> LoadAll(string path)
    {
        using var file = Open(path);
        return file.Names.ToDictionary(n => n, file.GetTensor, StringComparer.Ordinal);
    }

    /// <summary>
    /// The tensor as float32 (its <see cref="Tensor.Name"/> set): half types widen exactly, F64 and integers beyond
    /// 2^24 round to nearest. For exact integer values use <see cref="GetInt64"/> or <see cref="GetInt32"/>.
    /// </summary>
    public Tensor GetTensor(string name)
    {
        var info = GetInfo(name);
        var shape = info.IntShape(Path);
        var tensor = Tensor.Wrap(new float[info.ElementCount], shape);
        ReadInto(name, tensor);
        tensor.Name = name;
        return tensor;
    }

    /// <summary>
    /// Reads the tensor into <paramref name="target"/> of the same element count, piece by piece, converting as
    /// <see cref="GetTensor"/> does; a BF16 tensor goes into a target held in bfloat16 bit for bit. No whole float32
    /// copy is made, so loading a model held in bfloat16 never needs the float32 size of its largest tensor.
    /// </summary>
    public void ReadInto(string name, Tensor target)
    {
        var info = GetInfo(name);
        if (info.ElementCount != target.Size)
            throw new SafeTensorsFormatException(Path, name, $"{info.ElementCount} elements do not fill a tensor of {target.Size}.");
        var size = info.DType.ElementSize();
        if (target.IsPacked)
        {
            // Packed once whole: packing chunk by chunk would unpack and repack all of it for every chunk.
            var all = new float[target.Size];
            ForEachChunk(info, (bytes, start) => DTypeConversion.ToSingle(info.DType, bytes, all.AsSpan(start, bytes.Length / size)));
            target.CopyFrom(all);
            return;
        }
        if (!target.IsBFloat16)
        {
            ForEachChunk(info, (bytes, start) => DTypeConversion.ToSingle(info.DType, bytes, target.AsSpan().Slice(start, bytes.Length / size)));
            return;
        }
        if (info.DType == SafeTensorsDType.BF16)
        {
            ForEachChunk(info, (bytes, start) => target.CopyBFloat16From(MemoryMarshal.Cast<byte, ushort>(bytes), start));
            return;
        }
        var widened = new float[Math.Min(ChunkElements, info.ElementCount)];
        ForEachChunk(info, (bytes, start) =>
        {
            var values = widened.AsSpan(0, bytes.Length / size);
            DTypeConversion.ToSingle(info.DType, bytes, values);
            target.CopyFrom(values, start);
        });
    }

    /// <summary>An integer or BOOL tensor's elements, exactly, in row-major order (e.g. I64 index tensors).</summary>
    public long[] GetInt64(string name)
    {
        var info = GetIntegerInfo(name);
        var values = new long[info.ElementCount];
        ForEachChunk(info, (bytes, start) =>
            DTypeConversion.ToInt64(info.DType, bytes, values.AsSpan(start, bytes.Length / info.DType.ElementSize()), Path, name));
        return values;
    }

    /// <summary>An integer or BOOL tensor's elements as int32; a value outside the int32 range is an error.</summary>
    public int[] GetInt32(string name)
    {
        var wide = GetInt64(name);
        var values = new int[wide.Length];
        for (var i = 0; i < wide.Length; i++)
        {
            if (wide[i] is < int.MinValue or > int.MaxValue)
                throw new SafeTensorsFormatException(Path, name, $"value {wide[i]} at element {i} does not fit in an int32.");
            values[i] = (int)wide[i];
        }
        return values;
    }

    /// <summary>A copy of the tensor's raw little-endian bytes, as stored.</summary>
    public byte[] GetBytes(string name)
    {
        var info = GetInfo(name);
        if (info.ByteLength > Array.MaxLength)
            throw new InvalidOperationException($"{Path}: tensor '{name}' has {info.ByteLength} bytes, more than one array holds.");
        var bytes = new byte[info.ByteLength];
        ForEachChunk(info, (chunk, start) => chunk.CopyTo(bytes.AsSpan(start * info.DType.ElementSize())));
        return bytes;
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _view.SafeMemoryMappedViewHandle.ReleasePointer();
        _view.Dispose();
        _map.Dispose();
    }

    private SafeTensorInfo GetIntegerInfo(string name)
    {
        var info = GetInfo(name);
        if (info.DType.IsFloatingPoint())
            throw new InvalidOperationException(
                $"{Path}: tensor '{name}' is {info.DType.HeaderName()}, not an integer type; read it with GetTensor.");
        return info;
    }

    private delegate void ChunkAction(ReadOnlySpan<byte> bytes, int firstElement);

    /// <summary>Hands the tensor's bytes to <paramref name="action"/> in pieces of whole elements.</summary>
    private void ForEachChunk(SafeTensorInfo info, ChunkAction action)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var size = info.DType.ElementSize();
        for (long start = 0; start < info.ElementCount; start += ChunkElements)
        {
            var count = (int)Math.Min(ChunkElements, info.ElementCount - start);
            action(new ReadOnlySpan<byte>(_data + info.Begin + start * size, count * size), (int)start);
        }
    }
}
