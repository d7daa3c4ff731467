using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace EfficientFT.Tensors;

/// <summary>
/// Dropout keep-masks as bits: bit j of a mask says whether element j survives. Forward draws each bit from
/// <see cref="Rng.HashUniform"/>(key, index) four lanes at a time and keeps the bits, so backward reads them
/// instead of hashing every element again; they cost 1/32 of the activation they mask.
/// </summary>
internal static class DropoutMask
{
    /// <summary>Words needed for <paramref name="count"/> bits.</summary>
    public static int Words(long count) => (int)((count + 63) / 64);

    /// <summary>
    /// Sets bit j of <paramref name="words"/> (j &lt; <paramref name="count"/>) when the element with stream index
    /// <paramref name="firstIndex"/> + j is kept: HashUniform(key, index) ≥ p, as the scalar rule.
    /// </summary>
    public static void Fill(ulong key, ulong firstIndex, int count, float p, Span<ulong> words)
    {
        // u = (h >> 40)·2⁻²⁴ < p exactly when the integer h >> 40 is below ⌈p·2²⁴⌉.
        var threshold = (ulong)Math.Ceiling(p * 16777216.0);
        var keys = Vector256.Create(key);
        var limit = Vector256.Create(threshold);
        var step = Vector256.Create(4UL);
        for (var w = 0; w < Words(count); w++)
        {
            var index = Vector256.Create(0UL, 1, 2, 3) + Vector256.Create(firstIndex + (ulong)w * 64);
            var bits = 0UL;
            var lanes = Math.Min(64, count - w * 64);
            for (var j = 0; j < lanes; j += 4)
            {
                var dropped = Vector256.LessThan(Hash(keys, index) >>> 40, limit).ExtractMostSignificantBits();
                bits |= (~dropped & 0xFUL) << j;
                index += step;
            }
            // Lanes past the end were drawn too; clear them so a partial word means only what it covers.
            words[w] = lanes == 64 ? bits : bits & ((1UL << lanes) - 1);
        }
    }

    /// <summary>y[j] = kept ? x[j]·scale : 0 for j &lt; y.Length.</summary>
    public static void Apply(ReadOnlySpan<ulong> words, ReadOnlySpan<float> x, Span<float> y, float scale)
    {
        var j = 0;
        var scales = Vector256.Create(scale);
        for (; j + 8 <= y.Length; j += 8)
        {
            var keep = Lanes(words, j);
            Vector256.ConditionalSelect(keep, Vector256.Create(x.Slice(j, 8)) * scales, Vector256<float>.Zero).CopyTo(y.Slice(j, 8));
        }
        for (; j < y.Length; j++) y[j] = Kept(words, j) ? x[j] * scale : 0f;
    }

    /// <summary>dx[j] += kept ? g[j]·scale : 0 for j &lt; dx.Length.</summary>
    public static void ApplyAdd(ReadOnlySpan<ulong> words, ReadOnlySpan<float> g, Span<float> dx, float scale)
    {
        var j = 0;
        var scales = Vector256.Create(scale);
        for (; j + 8 <= dx.Length; j += 8)
        {
            var keep = Lanes(words, j);
            var sum = Vector256.Create(dx.Slice(j, 8)) + Vector256.ConditionalSelect(keep, Vector256.Create(g.Slice(j, 8)) * scales, Vector256<float>.Zero);
            sum.CopyTo(dx.Slice(j, 8));
        }
        for (; j < dx.Length; j++) if (Kept(words, j)) dx[j] += g[j] * scale;
    }

    private static bool Kept(ReadOnlySpan<ulong> words, int j) => (words[j >> 6] >> (j & 63) & 1) != 0;

    /// <summary>All-ones lanes where the 8 elements from <paramref name="j"/> (a multiple of 8) are kept.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Lanes(ReadOnlySpan<ulong> words, int j)
    {
        var bits = (int)(words[j >> 6] >> (j & 63)) & 0xFF;
        var lane = Vector256.Create(1, 2, 4, 8, 16, 32, 64, 128);
        return Vector256.Equals(Vector256.Create(bits) & lane, lane).AsSingle();
    }

    /// <summary><see cref="Rng.Hash"/> on four indices at once (same bits).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<ulong> Hash(Vector256<ulong> key, Vector256<ulong> index)
    {
        var z = (key ^ (index * 0x9E3779B97F4A7C15UL)) + Vector256.Create(0x9E3779B97F4A7C15UL);
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >>> 31);
    }
}
