using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace EfficientFT.Tensors;

/// <summary>
/// Dropout keep-masks as bits: bit j of a mask says whether element j survives. Forward draws each bit from
/// <see cref="Rng.HashUniform"/>(key, index) eight lanes at a time and keeps the bits, so backward reads them
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
        // u = (h >> 8)·2⁻²⁴ < p exactly when the integer h >> 8 is below ⌈p·2²⁴⌉.
        var threshold = (int)Math.Ceiling(p * 16777216.0);
        var limit = Vector256.Create(threshold);
        var keyLow = Vector256.Create((uint)key);
        var keyHigh = Vector256.Create((uint)(key >> 32));
        // The hash's first step multiplies the index's low half by a constant; the products advance by a constant.
        var offsets = Vector256.Create(0u, 1, 2, 3, 4, 5, 6, 7) * Rng.Golden32;
        var step = Vector256.Create(unchecked(8u * Rng.Golden32));
        for (var w = 0; w < Words(count); w++)
        {
            var first = firstIndex + (ulong)w * 64;
            var bits = 0UL;
            if (first >> 32 == (first + 63) >> 32)
            {
                var high = Vector256.Create((uint)(first >> 32)) ^ keyHigh;
                var low = Vector256.Create((uint)first * Rng.Golden32) + offsets;
                // All 64 lanes are drawn, also past the end of a partial word; the bits past it are cleared below.
                for (var j = 0; j < 64; j += 8)
                {
                    var h = Fmix32(Fmix32(low ^ keyLow) ^ high);
                    var dropped = Vector256.LessThan((h >>> 8).AsInt32(), limit).ExtractMostSignificantBits();
                    bits |= (~dropped & 0xFFUL) << j;
                    low += step;
                }
            }
            else
            {
                // The word straddles a 2³² boundary of the index, where the high half changes between lanes.
                for (var j = 0; j < 64; j++)
                    if (Rng.Hash32(key, first + (ulong)j) >> 8 >= (uint)threshold) bits |= 1UL << j;
            }
            var lanes = Math.Min(64, count - w * 64);
            words[w] = lanes == 64 ? bits : bits & ((1UL << lanes) - 1);
        }
    }

    /// <summary>y[j] = kept ? x[j]·scale : 0 for j &lt; y.Length.</summary>
    public static void Apply(ReadOnlySpan<ulong> words, ReadOnlySpan<float> x, Span<float> y, float scale)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(x.Length, y.Length);
        ref var xs = ref MemoryMarshal.GetReference(x);
        ref var ys = ref MemoryMarshal.GetReference(y);
        var scales = Vector256.Create(scale);
        var j = 0;
        // Dropped lanes are cleared by masking the product, not by multiplying with zero, so they are +0 even where
        // x is infinite or NaN.
        for (var w = 0; j + 8 <= y.Length; w++)
        {
            var bits = words[w];
            for (var k = 0; k < 8 && j + 8 <= y.Length; k++, j += 8, bits >>= 8)
                (Vector256.LoadUnsafe(ref xs, (nuint)j) * scales & Lanes(bits)).StoreUnsafe(ref ys, (nuint)j);
        }
        for (; j < y.Length; j++) y[j] = Kept(words, j) ? x[j] * scale : 0f;
    }

    /// <summary>dx[j] += kept ? g[j]·scale : 0 for j &lt; dx.Length.</summary>
    public static void ApplyAdd(ReadOnlySpan<ulong> words, ReadOnlySpan<float> g, Span<float> dx, float scale)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(g.Length, dx.Length);
        ref var gs = ref MemoryMarshal.GetReference(g);
        ref var dxs = ref MemoryMarshal.GetReference(dx);
        var scales = Vector256.Create(scale);
        var j = 0;
        for (var w = 0; j + 8 <= dx.Length; w++)
        {
            var bits = words[w];
            for (var k = 0; k < 8 && j + 8 <= dx.Length; k++, j += 8, bits >>= 8)
            {
                var sum = Vector256.LoadUnsafe(ref dxs, (nuint)j) + (Vector256.LoadUnsafe(ref gs, (nuint)j) * scales & Lanes(bits));
                sum.StoreUnsafe(ref dxs, (nuint)j);
            }
        }
        for (; j < dx.Length; j++) if (Kept(words, j)) dx[j] += g[j] * scale;
    }

    private static bool Kept(ReadOnlySpan<ulong> words, int j) => (words[j >> 6] >> (j & 63) & 1) != 0;

    /// <summary>All-ones lanes for the set bits among the low eight of <paramref name="bits"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Lanes(ulong bits)
    {
        var lane = Vector256.Create(1, 2, 4, 8, 16, 32, 64, 128);
        return Vector256.Equals(Vector256.Create((int)bits) & lane, lane).AsSingle();
    }

    /// <summary>MurmurHash3's finalizer on eight lanes, as in <see cref="Rng.Hash32"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<uint> Fmix32(Vector256<uint> h)
    {
        h = (h ^ (h >>> 16)) * 0x85EBCA6Bu;
        h = (h ^ (h >>> 13)) * 0xC2B2AE35u;
        return h ^ (h >>> 16);
    }
}
