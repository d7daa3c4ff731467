namespace EfficientFT.Tensors.Blas;

/// <summary>
/// The algorithmic reference: three loops, double accumulation, no blocking. Slow on purpose; the fast paths are
/// tested against it.
/// </summary>
public sealed class NaiveGemm : IGemm
{
    public static readonly NaiveGemm Instance = new();

    public string Name => "naive";

    public void Multiply(bool transposeA, bool transposeB, int m, int n, int k,
        float alpha, ReadOnlySpan<float> a, int lda,
        ReadOnlySpan<float> b, int ldb,
        float beta, Span<float> c, int ldc)
    {
        GemmArguments.Check(transposeA, transposeB, m, n, k, a.Length, lda, b.Length, ldb, c.Length, ldc);
        for (var i = 0; i < m; i++)
        {
            for (var j = 0; j < n; j++)
            {
                double sum = 0;
                for (var p = 0; p < k; p++)
                {
                    var av = transposeA ? a[p * lda + i] : a[i * lda + p];
                    var bv = transposeB ? b[j * ldb + p] : b[p * ldb + j];
                    sum += (double)av * bv;
                }
                ref var cij = ref c[i * ldc + j];
                cij = beta == 0 ? (float)(alpha * sum) : (float)(alpha * sum + beta * cij);
            }
        }
    }
}
