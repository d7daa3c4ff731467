using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using EfficientFT.Tensors;

namespace EfficientFT.Models.SafeTensors;

/// <summary>
/// Conversions between the little-endian bytes of each dtype and float32 / integer arrays. Widening to float32 is
/// exact for the half types (F16, BF16, F8) and for integers up to 2^24 in magnitude; F64 and larger integers round
/// to nearest.
/// </summary>
internal static class DTypeConversion
{
    /// <summary>
    /// float8 e4m3fn (torch.float8_e4m3fn, safetensors F8_E4M3): bias 7, no infinities, S.1111.111 is NaN. A table
    /// is both the fastest and the most obviously exact decoding of 256 codes.
    /// </summary>
    private static readonly float[] E4M3 = BuildE4M3();

    /// <summary>Widens <paramref name="source"/> (elements of <paramref name="dtype"/>) into float32.</summary>
    public static void ToSingle(SafeTensorsDType dtype, ReadOnlySpan<byte> source, Span<float> destination)
    {
        switch (dtype)
        {
            case SafeTensorsDType.F32:
                MemoryMarshal.Cast<byte, float>(source).CopyTo(destination);
                break;
            case SafeTensorsDType.F16:
                TensorPrimitives.ConvertToSingle(MemoryMarshal.Cast<byte, Half>(source), destination);
                break;
            case SafeTensorsDType.BF16:
                BFloat16.Widen(MemoryMarshal.Cast<byte, ushort>(source), destination);
                break;
            case SafeTensorsDType.F8E5M2:
                // e5m2 is the upper byte of an IEEE half, so widening through Half is exact.
                for (var i = 0; i < source.Length; i++)
                    destination[i] = (float)BitConverter.UInt16BitsToHalf((ushort)(source[i] << 8));
                break;
            case SafeTensorsDType.F8E4M3:
                for (var i = 0; i < source.Length; i++) destination[i] = E4M3[source[i]];
                break;
            case SafeTensorsDType.F64:
                var f64 = MemoryMarshal.Cast<byte, double>(source);
                for (var i = 0; i < f64.Length; i++) destination[i] = (float)f64[i];
                break;
            case SafeTensorsDType.Bool:
                for (var i = 0; i < source.Length; i++) destination[i] = source[i] != 0 ? 1f : 0f;
                break;
            case SafeTensorsDType.U8:
                WidenToSingle(source, destination);
                break;
            case SafeTensorsDType.I8:
                WidenToSingle(MemoryMarshal.Cast<byte, sbyte>(source), destination);
                break;
            case SafeTensorsDType.I16:
                WidenToSingle(MemoryMarshal.Cast<byte, short>(source), destination);
                break;
            case SafeTensorsDType.U16:
                WidenToSingle(MemoryMarshal.Cast<byte, ushort>(source), destination);
                break;
            case SafeTensorsDType.I32:
                WidenToSingle(MemoryMarshal.Cast<byte, int>(source), destination);
                break;
            case SafeTensorsDType.U32:
                WidenToSingle(MemoryMarshal.Cast<byte, uint>(source), destination);
                break;
            case SafeTensorsDType.I64:
                WidenToSingle(MemoryMarshal.Cast<byte, long>(source), destination);
                break;
            case SafeTensorsDType.U64:
                WidenToSingle(MemoryMarshal.Cast<byte, ulong>(source), destination);
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "Not a safetensors dtype.");
        }
    }

    /// <summary>Widens integer or bool elements into int64; <paramref name="file"/> and <paramref name="name"/> go into errors.</summary>
    public static void ToInt64(SafeTensorsDType dtype, ReadOnlySpan<byte> source, Span<long> destination, string file, string name)
    {
        switch (dtype)
        {
            case SafeTensorsDType.Bool:
                for (var i = 0; i < source.Length; i++) destination[i] = source[i] != 0 ? 1 : 0;
                break;
            case SafeTensorsDType.U8:
                for (var i = 0; i < source.Length; i++) destination[i] = source[i];
                break;
            case SafeTensorsDType.I8:
                for (var i = 0; i < source.Length; i++) destination[i] = (sbyte)source[i];
                break;
            case SafeTensorsDType.I16:
                WidenToInt64(MemoryMarshal.Cast<byte, short>(source), destination);
                break;
            case SafeTensorsDType.U16:
                WidenToInt64(MemoryMarshal.Cast<byte, ushort>(source), destination);
                break;
            case SafeTensorsDType.I32:
                WidenToInt64(MemoryMarshal.Cast<byte, int>(source), destination);
                break;
            case SafeTensorsDType.U32:
                WidenToInt64(MemoryMarshal.Cast<byte, uint>(source), destination);
                break;
            case SafeTensorsDType.I64:
                MemoryMarshal.Cast<byte, long>(source).CopyTo(destination);
                break;
            case SafeTensorsDType.U64:
                var u = MemoryMarshal.Cast<byte, ulong>(source);
                for (var i = 0; i < u.Length; i++)
                {
                    if (u[i] > long.MaxValue)
                        throw new SafeTensorsFormatException(file, name, $"U64 value {u[i]} at element {i} does not fit in an int64.");
                    destination[i] = (long)u[i];
                }
                break;
            default:
                throw new SafeTensorsFormatException(file, name, $"dtype {dtype.HeaderName()} is not an integer type.");
        }
    }

    /// <summary>Narrows float32 values to <paramref name="dtype"/> (F32, F16 or BF16) with round-to-nearest-even.</summary>
    public static void FromSingle(ReadOnlySpan<float> source, SafeTensorsDType dtype, Span<byte> destination)
    {
        switch (dtype)
        {
            case SafeTensorsDType.F32:
                MemoryMarshal.AsBytes(source).CopyTo(destination);
                break;
            case SafeTensorsDType.F16:
                TensorPrimitives.ConvertToHalf(source, MemoryMarshal.Cast<byte, Half>(destination));
                break;
            case SafeTensorsDType.BF16:
                BFloat16.Narrow(source, MemoryMarshal.Cast<byte, ushort>(destination));
                break;
            default:
                throw new ArgumentException($"Tensors are saved as F32, F16 or BF16, not {dtype.HeaderName()}.", nameof(dtype));
        }
    }

    private static void WidenToSingle<T>(ReadOnlySpan<T> source, Span<float> destination) where T : unmanaged, IBinaryInteger<T>
    {
        for (var i = 0; i < source.Length; i++) destination[i] = float.CreateTruncating(source[i]);
    }

    private static void WidenToInt64<T>(ReadOnlySpan<T> source, Span<long> destination) where T : unmanaged, IBinaryInteger<T>
    {
        for (var i = 0; i < source.Length; i++) destination[i] = long.CreateTruncating(source[i]);
    }

    private static float[] BuildE4M3()
    {
        var table = new float[256];
        for (var code = 0; code < 256; code++)
        {
            var sign = (code & 0x80) != 0 ? -1f : 1f;
            var exponent = (code >> 3) & 0xF;
            var mantissa = code & 0x7;
            table[code] = exponent == 0xF && mantissa == 0x7
                ? float.NaN
                : exponent == 0
                    ? sign * mantissa / 8f * MathF.Pow(2, -6)
                    : sign * (1 + mantissa / 8f) * MathF.Pow(2, exponent - 7);
        }
        return table;
    }

    /// <summary>Every cast here reads the file's little-endian bytes in place; a big-endian host would need a swap per element.</summary>
    public static void EnsureLittleEndian()
    {
        if (!BitConverter.IsLittleEndian)
            throw new PlatformNotSupportedException("safetensors reading and writing assume a little-endian host.");
    }
}
