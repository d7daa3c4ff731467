using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace EfficientFT.Tensors.Blas;

/// <summary>
/// 8×8 in-register transposes for the packing routines that turn rows of storage into interleaved panel steps
/// (A not transposed, B transposed). A scalar gather there costs more than the rest of the packing put together:
/// about 6% of a 2048×768×3072 X·Wᵀ product.
/// </summary>
internal static unsafe class PackTranspose
{
    public static bool IsSupported => Avx.IsSupported;

    /// <summary>dst[q·dstStride + r] = src[r·ld + q] for r, q in 0..7.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Transpose8(float* src, nint ld, float* dst, nint dstStride)
    {
        var (r0, r1, r2, r3) = (Avx.LoadVector256(src), Avx.LoadVector256(src + ld), Avx.LoadVector256(src + 2 * ld), Avx.LoadVector256(src + 3 * ld));
        var (r4, r5, r6, r7) = (Avx.LoadVector256(src + 4 * ld), Avx.LoadVector256(src + 5 * ld), Avx.LoadVector256(src + 6 * ld), Avx.LoadVector256(src + 7 * ld));
        Store(r0, r1, r2, r3, r4, r5, r6, r7, dst, dstStride);
    }

    /// <summary>
    /// dst[q·6 + r] = src[r·ld + q] for r in 0..5, q in 0..7. Each step is written as a full vector whose last two
    /// lanes spill into the next step, so later steps must be written afterwards and dst needs two floats of slack
    /// past step 7.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Transpose6(float* src, nint ld, float* dst)
    {
        var (r0, r1, r2, r3) = (Avx.LoadVector256(src), Avx.LoadVector256(src + ld), Avx.LoadVector256(src + 2 * ld), Avx.LoadVector256(src + 3 * ld));
        var (r4, r5) = (Avx.LoadVector256(src + 4 * ld), Avx.LoadVector256(src + 5 * ld));
        Store(r0, r1, r2, r3, r4, r5, Vector256<float>.Zero, Vector256<float>.Zero, dst, 6);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store(Vector256<float> r0, Vector256<float> r1, Vector256<float> r2, Vector256<float> r3,
        Vector256<float> r4, Vector256<float> r5, Vector256<float> r6, Vector256<float> r7, float* dst, nint stride)
    {
        var (t0, t1) = (Avx.UnpackLow(r0, r1), Avx.UnpackHigh(r0, r1));
        var (t2, t3) = (Avx.UnpackLow(r2, r3), Avx.UnpackHigh(r2, r3));
        var (t4, t5) = (Avx.UnpackLow(r4, r5), Avx.UnpackHigh(r4, r5));
        var (t6, t7) = (Avx.UnpackLow(r6, r7), Avx.UnpackHigh(r6, r7));
        var (s0, s1) = (Avx.Shuffle(t0, t2, 0x44), Avx.Shuffle(t0, t2, 0xEE));
        var (s2, s3) = (Avx.Shuffle(t1, t3, 0x44), Avx.Shuffle(t1, t3, 0xEE));
        var (s4, s5) = (Avx.Shuffle(t4, t6, 0x44), Avx.Shuffle(t4, t6, 0xEE));
        var (s6, s7) = (Avx.Shuffle(t5, t7, 0x44), Avx.Shuffle(t5, t7, 0xEE));
        Avx.Store(dst, Avx.Permute2x128(s0, s4, 0x20));
        Avx.Store(dst + stride, Avx.Permute2x128(s1, s5, 0x20));
        Avx.Store(dst + 2 * stride, Avx.Permute2x128(s2, s6, 0x20));
        Avx.Store(dst + 3 * stride, Avx.Permute2x128(s3, s7, 0x20));
        Avx.Store(dst + 4 * stride, Avx.Permute2x128(s0, s4, 0x31));
        Avx.Store(dst + 5 * stride, Avx.Permute2x128(s1, s5, 0x31));
        Avx.Store(dst + 6 * stride, Avx.Permute2x128(s2, s6, 0x31));
        Avx.Store(dst + 7 * stride, Avx.Permute2x128(s3, s7, 0x31));
    }
}
