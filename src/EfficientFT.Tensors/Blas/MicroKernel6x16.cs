using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace EfficientFT.Tensors.Blas;

/// <summary>
/// 6×16 tile in twelve Vector256 accumulators (AVX2 + FMA): with the two B vectors and one broadcast it uses
/// 15 of the 16 ymm registers, and 12 independent FMA chains cover the 4-cycle latency on both FMA ports.
/// </summary>
internal unsafe struct MicroKernel6x16 : IMicroKernel
{
    public static int Mr => 6;

    public static int Nr => 16;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run(int kc, float* a, float* b, float* c, nint ldc, float alpha, float beta, float* bias)
    {
        // C rows are a row stride apart and are cold by the time a tile comes round again; fetching them now
        // hides that miss behind the k loop instead of stalling the stores at the end (about 10% at 2048×768×3072).
        if (Sse.IsSupported)
        {
            var row = c;
            for (var i = 0; i < 6; i++, row += ldc)
            {
                Sse.Prefetch0(row);
                Sse.Prefetch0(row + 15);
            }
        }

        var c00 = Vector256<float>.Zero; var c01 = Vector256<float>.Zero;
        var c10 = Vector256<float>.Zero; var c11 = Vector256<float>.Zero;
        var c20 = Vector256<float>.Zero; var c21 = Vector256<float>.Zero;
        var c30 = Vector256<float>.Zero; var c31 = Vector256<float>.Zero;
        var c40 = Vector256<float>.Zero; var c41 = Vector256<float>.Zero;
        var c50 = Vector256<float>.Zero; var c51 = Vector256<float>.Zero;

        var p = 0;
        // Unrolled so the pointer bumps and loop test are paid once per 4 steps.
        for (; p + 4 <= kc; p += 4)
        {
            {
                var b0 = Vector256.Load(b);
                var b1 = Vector256.Load(b + 8);
                var a0 = Vector256.Create(a[0]);
                c00 = Vector256.FusedMultiplyAdd(a0, b0, c00);
                c01 = Vector256.FusedMultiplyAdd(a0, b1, c01);
                var a1 = Vector256.Create(a[1]);
                c10 = Vector256.FusedMultiplyAdd(a1, b0, c10);
                c11 = Vector256.FusedMultiplyAdd(a1, b1, c11);
                var a2 = Vector256.Create(a[2]);
                c20 = Vector256.FusedMultiplyAdd(a2, b0, c20);
                c21 = Vector256.FusedMultiplyAdd(a2, b1, c21);
                var a3 = Vector256.Create(a[3]);
                c30 = Vector256.FusedMultiplyAdd(a3, b0, c30);
                c31 = Vector256.FusedMultiplyAdd(a3, b1, c31);
                var a4 = Vector256.Create(a[4]);
                c40 = Vector256.FusedMultiplyAdd(a4, b0, c40);
                c41 = Vector256.FusedMultiplyAdd(a4, b1, c41);
                var a5 = Vector256.Create(a[5]);
                c50 = Vector256.FusedMultiplyAdd(a5, b0, c50);
                c51 = Vector256.FusedMultiplyAdd(a5, b1, c51);
            }
            {
                var b0 = Vector256.Load(b + 16);
                var b1 = Vector256.Load(b + 24);
                var a0 = Vector256.Create(a[6]);
                c00 = Vector256.FusedMultiplyAdd(a0, b0, c00);
                c01 = Vector256.FusedMultiplyAdd(a0, b1, c01);
                var a1 = Vector256.Create(a[7]);
                c10 = Vector256.FusedMultiplyAdd(a1, b0, c10);
                c11 = Vector256.FusedMultiplyAdd(a1, b1, c11);
                var a2 = Vector256.Create(a[8]);
                c20 = Vector256.FusedMultiplyAdd(a2, b0, c20);
                c21 = Vector256.FusedMultiplyAdd(a2, b1, c21);
                var a3 = Vector256.Create(a[9]);
                c30 = Vector256.FusedMultiplyAdd(a3, b0, c30);
                c31 = Vector256.FusedMultiplyAdd(a3, b1, c31);
                var a4 = Vector256.Create(a[10]);
                c40 = Vector256.FusedMultiplyAdd(a4, b0, c40);
                c41 = Vector256.FusedMultiplyAdd(a4, b1, c41);
                var a5 = Vector256.Create(a[11]);
                c50 = Vector256.FusedMultiplyAdd(a5, b0, c50);
                c51 = Vector256.FusedMultiplyAdd(a5, b1, c51);
            }
            {
                var b0 = Vector256.Load(b + 32);
                var b1 = Vector256.Load(b + 40);
                var a0 = Vector256.Create(a[12]);
                c00 = Vector256.FusedMultiplyAdd(a0, b0, c00);
                c01 = Vector256.FusedMultiplyAdd(a0, b1, c01);
                var a1 = Vector256.Create(a[13]);
                c10 = Vector256.FusedMultiplyAdd(a1, b0, c10);
                c11 = Vector256.FusedMultiplyAdd(a1, b1, c11);
                var a2 = Vector256.Create(a[14]);
                c20 = Vector256.FusedMultiplyAdd(a2, b0, c20);
                c21 = Vector256.FusedMultiplyAdd(a2, b1, c21);
                var a3 = Vector256.Create(a[15]);
                c30 = Vector256.FusedMultiplyAdd(a3, b0, c30);
                c31 = Vector256.FusedMultiplyAdd(a3, b1, c31);
                var a4 = Vector256.Create(a[16]);
                c40 = Vector256.FusedMultiplyAdd(a4, b0, c40);
                c41 = Vector256.FusedMultiplyAdd(a4, b1, c41);
                var a5 = Vector256.Create(a[17]);
                c50 = Vector256.FusedMultiplyAdd(a5, b0, c50);
                c51 = Vector256.FusedMultiplyAdd(a5, b1, c51);
            }
            {
                var b0 = Vector256.Load(b + 48);
                var b1 = Vector256.Load(b + 56);
                var a0 = Vector256.Create(a[18]);
                c00 = Vector256.FusedMultiplyAdd(a0, b0, c00);
                c01 = Vector256.FusedMultiplyAdd(a0, b1, c01);
                var a1 = Vector256.Create(a[19]);
                c10 = Vector256.FusedMultiplyAdd(a1, b0, c10);
                c11 = Vector256.FusedMultiplyAdd(a1, b1, c11);
                var a2 = Vector256.Create(a[20]);
                c20 = Vector256.FusedMultiplyAdd(a2, b0, c20);
                c21 = Vector256.FusedMultiplyAdd(a2, b1, c21);
                var a3 = Vector256.Create(a[21]);
                c30 = Vector256.FusedMultiplyAdd(a3, b0, c30);
                c31 = Vector256.FusedMultiplyAdd(a3, b1, c31);
                var a4 = Vector256.Create(a[22]);
                c40 = Vector256.FusedMultiplyAdd(a4, b0, c40);
                c41 = Vector256.FusedMultiplyAdd(a4, b1, c41);
                var a5 = Vector256.Create(a[23]);
                c50 = Vector256.FusedMultiplyAdd(a5, b0, c50);
                c51 = Vector256.FusedMultiplyAdd(a5, b1, c51);
            }
            a += 24;
            b += 64;
        }

        for (; p < kc; p++)
        {
            var b0 = Vector256.Load(b);
            var b1 = Vector256.Load(b + 8);
            var a0 = Vector256.Create(a[0]);
            c00 = Vector256.FusedMultiplyAdd(a0, b0, c00);
            c01 = Vector256.FusedMultiplyAdd(a0, b1, c01);
            var a1 = Vector256.Create(a[1]);
            c10 = Vector256.FusedMultiplyAdd(a1, b0, c10);
            c11 = Vector256.FusedMultiplyAdd(a1, b1, c11);
            var a2 = Vector256.Create(a[2]);
            c20 = Vector256.FusedMultiplyAdd(a2, b0, c20);
            c21 = Vector256.FusedMultiplyAdd(a2, b1, c21);
            var a3 = Vector256.Create(a[3]);
            c30 = Vector256.FusedMultiplyAdd(a3, b0, c30);
            c31 = Vector256.FusedMultiplyAdd(a3, b1, c31);
            var a4 = Vector256.Create(a[4]);
            c40 = Vector256.FusedMultiplyAdd(a4, b0, c40);
            c41 = Vector256.FusedMultiplyAdd(a4, b1, c41);
            var a5 = Vector256.Create(a[5]);
            c50 = Vector256.FusedMultiplyAdd(a5, b0, c50);
            c51 = Vector256.FusedMultiplyAdd(a5, b1, c51);
            a += 6;
            b += 16;
        }

        var va = Vector256.Create(alpha);
        if (beta == 0 && bias == null)
        {
            (c00 * va).Store(c);
            (c01 * va).Store(c + 8);
            (c10 * va).Store(c + ldc);
            (c11 * va).Store(c + ldc + 8);
            (c20 * va).Store(c + 2 * ldc);
            (c21 * va).Store(c + 2 * ldc + 8);
            (c30 * va).Store(c + 3 * ldc);
            (c31 * va).Store(c + 3 * ldc + 8);
            (c40 * va).Store(c + 4 * ldc);
            (c41 * va).Store(c + 4 * ldc + 8);
            (c50 * va).Store(c + 5 * ldc);
            (c51 * va).Store(c + 5 * ldc + 8);
            return;
        }

        if (beta == 0)
        {
            var bias0 = Vector256.Load(bias);
            var bias1 = Vector256.Load(bias + 8);
            Biased(c, c00, c01, va, bias0, bias1);
            Biased(c + ldc, c10, c11, va, bias0, bias1);
            Biased(c + 2 * ldc, c20, c21, va, bias0, bias1);
            Biased(c + 3 * ldc, c30, c31, va, bias0, bias1);
            Biased(c + 4 * ldc, c40, c41, va, bias0, bias1);
            Biased(c + 5 * ldc, c50, c51, va, bias0, bias1);
            return;
        }

        var vb = Vector256.Create(beta);
        Merge(c, c00, c01, va, vb);
        Merge(c + ldc, c10, c11, va, vb);
        Merge(c + 2 * ldc, c20, c21, va, vb);
        Merge(c + 3 * ldc, c30, c31, va, vb);
        Merge(c + 4 * ldc, c40, c41, va, vb);
        Merge(c + 5 * ldc, c50, c51, va, vb);
    }

    /// <summary>Same rounding as the scalar edge merge: one fused alpha·acc + (beta·c).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Merge(float* c, Vector256<float> v0, Vector256<float> v1, Vector256<float> alpha, Vector256<float> beta)
    {
        Vector256.FusedMultiplyAdd(v0, alpha, Vector256.Load(c) * beta).Store(c);
        Vector256.FusedMultiplyAdd(v1, alpha, Vector256.Load(c + 8) * beta).Store(c + 8);
    }

    /// <summary>Same rounding as the scalar edge merge: one fused alpha·acc + bias.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Biased(float* c, Vector256<float> v0, Vector256<float> v1, Vector256<float> alpha, Vector256<float> bias0, Vector256<float> bias1)
    {
        Vector256.FusedMultiplyAdd(v0, alpha, bias0).Store(c);
        Vector256.FusedMultiplyAdd(v1, alpha, bias1).Store(c + 8);
    }
}
