namespace EfficientFT.Tensors.Blas;

/// <summary>Up-front argument checks shared by every <see cref="IGemm"/> implementation.</summary>
internal static class GemmArguments
{
    public static void Check(bool transposeA, bool transposeB, int m, int n, int k,
        int aLength, int lda, int bLength, int ldb, int cLength, int ldc)
    {
        if (m < 0 || n < 0 || k < 0)
            throw new ArgumentException($"gemm: negative size m={m} n={n} k={k}.");
        var (aRows, aCols) = transposeA ? (k, m) : (m, k);
        var (bRows, bCols) = transposeB ? (n, k) : (k, n);
        CheckMatrix("A", aRows, aCols, aLength, lda);
        CheckMatrix("B", bRows, bCols, bLength, ldb);
        CheckMatrix("C", m, n, cLength, ldc);
    }

    public static void CheckBias(int n, int biasLength)
    {
        if (biasLength < n)
            throw new ArgumentException($"gemm: the bias has {biasLength} elements for {n} columns.");
    }

    private static void CheckMatrix(string name, int rows, int cols, int length, int ld)
    {
        if (rows == 0 || cols == 0) return;
        if (ld < cols)
            throw new ArgumentException($"gemm: leading dimension of {name} is {ld}, less than its {cols} columns.");
        var needed = (long)(rows - 1) * ld + cols;
        if (length < needed)
            throw new ArgumentException($"gemm: {name} is {rows}×{cols} with leading dimension {ld} and needs {needed} elements, but has {length}.");
    }
}
