namespace EfficientFT.Tensors.Blas;

/// <summary>
/// Single-precision matrix product on row-major storage:
/// C[m×n] = alpha · op(A)[m×k] · op(B)[k×n] + beta · C, where op(X) is X or Xᵀ.
/// Leading dimensions are row strides: A is m×k (lda ≥ k) or, transposed, k×m (lda ≥ m); likewise B.
/// When beta is 0, C is overwritten and its previous contents (even NaN) are ignored.
/// </summary>
public interface IGemm
{
    /// <summary>A short name for reports ("managed-avx512", "openblas", "naive").</summary>
    string Name { get; }

    void Multiply(bool transposeA, bool transposeB, int m, int n, int k,
        float alpha, ReadOnlySpan<float> a, int lda,
        ReadOnlySpan<float> b, int ldb,
        float beta, Span<float> c, int ldc);
}
