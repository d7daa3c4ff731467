namespace EfficientFT.Tensors.Blas;

/// <summary>SGEMM through OpenBLAS's cblas_sgemm. Threads follow <see cref="Threading.Count"/>.</summary>
public sealed unsafe class OpenBlasGemm : IGemm
{
    private const int RowMajor = 101, NoTrans = 111, Trans = 112;

    public static readonly OpenBlasGemm Instance = new();

    private OpenBlasGemm()
    {
    }

    public string Name => "openblas";

    /// <exception cref="DllNotFoundException">OpenBLAS is not installed or lacks the functions we use.</exception>
    public void Multiply(bool transposeA, bool transposeB, int m, int n, int k,
        float alpha, ReadOnlySpan<float> a, int lda,
        ReadOnlySpan<float> b, int ldb,
        float beta, Span<float> c, int ldc)
    {
        GemmArguments.Check(transposeA, transposeB, m, n, k, a.Length, lda, b.Length, ldb, c.Length, ldc);
        var sgemm = OpenBlas.Functions.Sgemm;
        if (m == 0 || n == 0) return;
        // cblas rejects (prints to stderr and skips the call) a leading dimension below max(1, columns) even for an
        // empty operand, which GemmArguments allows; an empty operand is never read, so any valid value will do.
        lda = Math.Max(lda, Math.Max(1, transposeA ? m : k));
        ldb = Math.Max(ldb, Math.Max(1, transposeB ? k : n));
        fixed (float* pa = a, pb = b, pc = c)
            sgemm(RowMajor, transposeA ? Trans : NoTrans, transposeB ? Trans : NoTrans, m, n, k,
                alpha, pa, lda, pb, ldb, beta, pc, ldc);
    }
}
