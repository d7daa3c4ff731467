using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace EfficientFT.Tensors.Blas;

/// <summary>
/// The engine's own SIMD SGEMM: packed, cache-blocked, register-tiled and multithreaded (see
/// <see cref="GemmDriver{TKernel}"/>). Always available, and bitwise deterministic: results do not depend on the
/// thread count or on the kernel width.
/// </summary>
public sealed unsafe class ManagedGemm : IGemm
{
    private readonly bool _wide;
    private readonly int? _threads;

    /// <param name="width">
    /// The micro-kernel. <see cref="ManagedGemmWidth.Auto"/> picks Vector512 wherever the CPU has AVX-512, including
    /// Skylake-SP, Cascade Lake and Cooper Lake, where .NET reports Vector512 as not accelerated because 512-bit code
    /// lowers the clock. The JIT still emits AVX-512 for Vector512 there, and a kernel that is nothing but FMAs should
    /// gain more from twice the width than it loses to the clock, which is why OpenBLAS runs AVX-512 kernels there
    /// too. Not yet timed on such a machine; <see cref="ManagedGemmWidth.Vector256"/> forces the narrow kernel.
    /// </param>
    /// <param name="threads">
    /// Threads per product; null follows <see cref="Threading.Count"/> at each call. Inside
    /// <see cref="Threading.For"/> a product always runs on its caller's thread alone.
    /// </param>
    public ManagedGemm(ManagedGemmWidth width = ManagedGemmWidth.Auto, int? threads = null)
    {
        if (threads is < 1) throw new ArgumentOutOfRangeException(nameof(threads), threads, "at least one thread");
        _wide = width switch
        {
            ManagedGemmWidth.Auto => Vector512.IsHardwareAccelerated || Avx512F.IsSupported,
            ManagedGemmWidth.Vector256 => false,
            ManagedGemmWidth.Vector512 => true,
            _ => throw new ArgumentOutOfRangeException(nameof(width), width, null),
        };
        _threads = threads;
    }

    public string Name => _wide ? "managed-avx512" : "managed-avx2";

    public void Multiply(bool transposeA, bool transposeB, int m, int n, int k,
        float alpha, ReadOnlySpan<float> a, int lda,
        ReadOnlySpan<float> b, int ldb,
        float beta, Span<float> c, int ldc)
    {
        GemmArguments.Check(transposeA, transposeB, m, n, k, a.Length, lda, b.Length, ldb, c.Length, ldc);
        Run(transposeA, transposeB, m, n, k, alpha, a, lda, b, ldb, beta, default, c, ldc);
    }

    /// <summary>The bias goes into C with the first Kc slice's results (see <see cref="IMicroKernel.Run"/>).</summary>
    public void MultiplyWithBias(bool transposeA, bool transposeB, int m, int n, int k,
        float alpha, ReadOnlySpan<float> a, int lda,
        ReadOnlySpan<float> b, int ldb,
        ReadOnlySpan<float> bias, Span<float> c, int ldc)
    {
        GemmArguments.CheckBias(n, bias.Length);
        GemmArguments.Check(transposeA, transposeB, m, n, k, a.Length, lda, b.Length, ldb, c.Length, ldc);
        Run(transposeA, transposeB, m, n, k, alpha, a, lda, b, ldb, 0f, bias, c, ldc);
    }

    /// <summary>B is widened panel by panel as it is packed, so the result is bitwise the float32 path's.</summary>
    public void MultiplyBFloat16(bool transposeA, bool transposeB, int m, int n, int k,
        float alpha, ReadOnlySpan<float> a, int lda,
        ReadOnlySpan<ushort> b, int ldb,
        float beta, ReadOnlySpan<float> bias, Span<float> c, int ldc)
    {
        if (!bias.IsEmpty) GemmArguments.CheckBias(n, bias.Length);
        GemmArguments.Check(transposeA, transposeB, m, n, k, a.Length, lda, b.Length, ldb, c.Length, ldc);
        fixed (ushort* pb = b)
            Run(transposeA, transposeB, m, n, k, alpha, a, lda, new GemmB(null, pb), ldb, bias.IsEmpty ? beta : 0f, bias, c, ldc);
    }

    public PackedWeight Pack(ReadOnlySpan<float> w, int rows, int cols) => new(w, rows, cols, _wide);

    /// <summary>Weights packed for the other kernel width are unpacked, as by any other path.</summary>
    public void MultiplyPacked(bool transposed, int m, float alpha, ReadOnlySpan<float> a, int lda, PackedWeight w,
        float beta, ReadOnlySpan<float> bias, Span<float> c, int ldc)
    {
        if (w.Wide != _wide)
        {
            w.MultiplyUnpacked(this, transposed, m, alpha, a, lda, beta, bias, c, ldc);
            return;
        }
        var (n, k) = transposed ? (w.Rows, w.Cols) : (w.Cols, w.Rows);
        if (!bias.IsEmpty) GemmArguments.CheckBias(n, bias.Length);
        // B's extents are checked against a span as long as W, which both layouts hold in full.
        GemmArguments.Check(false, transposed, m, n, k, a.Length, lda, w.Rows * w.Cols, w.Cols, c.Length, ldc);
        Run(false, transposed, m, n, k, alpha, a, lda, new GemmB(null, null, transposed ? w.Forward : w.Backward), 0,
            bias.IsEmpty ? beta : 0f, bias, c, ldc);
    }

    private void Run(bool transposeA, bool transposeB, int m, int n, int k, float alpha, ReadOnlySpan<float> a, int lda,
        ReadOnlySpan<float> b, int ldb, float beta, ReadOnlySpan<float> bias, Span<float> c, int ldc)
    {
        fixed (float* pb = b)
            Run(transposeA, transposeB, m, n, k, alpha, a, lda, new GemmB(pb, null), ldb, beta, bias, c, ldc);
    }

    private void Run(bool transposeA, bool transposeB, int m, int n, int k, float alpha, ReadOnlySpan<float> a, int lda,
        GemmB b, int ldb, float beta, ReadOnlySpan<float> bias, Span<float> c, int ldc)
    {
        if (m == 0 || n == 0) return;
        // A product issued from inside a parallel kernel (attention runs one per head group) already has its core.
        var threads = Threading.InsideParallelRegion ? 1 : _threads ?? Threading.Count;
        fixed (float* pa = a, pc = c, pbias = bias)
        {
            if (_wide)
                GemmDriver<MicroKernel8x32>.Multiply(transposeA, transposeB, m, n, k, alpha, pa, lda, b, ldb, beta, pc, ldc, pbias, threads);
            else
                GemmDriver<MicroKernel6x16>.Multiply(transposeA, transposeB, m, n, k, alpha, pa, lda, b, ldb, beta, pc, ldc, pbias, threads);
        }
    }
}
