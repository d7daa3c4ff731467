using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace EfficientFT.Tensors;

/// <summary>
/// bfloat16 values held as their 16 bits: the upper half of a float32, so widening is a shift and exact for every
/// code, NaN and inf included. .NET 10 has no bfloat16 type of its own.
/// </summary>
public static class BFloat16
{
    /// <summary>
    /// float32 → bfloat16 as torch's <c>c10::BFloat16</c> does it: round to nearest, ties to even, by adding 0x7FFF plus
    /// the lowest kept bit before truncating; NaN becomes the quiet NaN 0x7FC0 so rounding cannot turn it into inf.
    /// </summary>
    public static ushort FromSingle(float value)
    {
        if (float.IsNaN(value)) return 0x7FC0;
        var bits = BitConverter.SingleToUInt32Bits(value);
        return (ushort)((bits + 0x7FFFu + ((bits >> 16) & 1u)) >> 16);
    }

    /// <summary>The float32 with the same value.</summary>
    public static float ToSingle(ushort bits) => BitConverter.UInt32BitsToSingle((uint)bits << 16);

    /// <summary>Rounds each float32 of <paramref name="source"/> to bfloat16 (<see cref="FromSingle"/>).</summary>
    public static void Narrow(ReadOnlySpan<float> source, Span<ushort> destination)
    {
        if (destination.Length < source.Length) throw new ArgumentException("BFloat16.Narrow: destination is shorter than source.");
        for (var i = 0; i < source.Length; i++) destination[i] = FromSingle(source[i]);
    }

    /// <summary>Widens each bfloat16 of <paramref name="source"/> to float32, exactly.</summary>
    public static unsafe void Widen(ReadOnlySpan<ushort> source, Span<float> destination)
    {
        if (destination.Length < source.Length) throw new ArgumentException("BFloat16.Widen: destination is shorter than source.");
        fixed (ushort* s = source)
        fixed (float* d = destination)
            Widen(s, d, source.Length);
    }

    /// <summary>Widens <paramref name="count"/> values from <paramref name="source"/> into <paramref name="destination"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static unsafe void Widen(ushort* source, float* destination, int count)
    {
        var i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            for (; i + 8 <= count; i += 8)
            {
                var wide = Vector256.WidenLower(Vector128.Load(source + i).ToVector256Unsafe());
                Vector256.ShiftLeft(wide, 16).AsSingle().Store(destination + i);
            }
        }
        for (; i < count; i++) destination[i] = ToSingle(source[i]);
    }
}
