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

    /// <summary>
    /// A linear layer's product: C[m×n] = alpha · op(A) · op(B) + bias, the n-float bias added to every row of C.
    /// This default writes the bias into C first and accumulates onto it (beta = 1), as torch's addmm hands it to
    /// BLAS; a path that can add the bias while it writes C overrides it, saving a pass over C.
    /// </summary>
    void MultiplyWithBias(bool transposeA, bool transposeB, int m, int n, int k,
        float alpha, ReadOnlySpan<float> a, int lda,
        ReadOnlySpan<float> b, int ldb,
        ReadOnlySpan<float> bias, Span<float> c, int ldc)
    {
        GemmArguments.CheckBias(n, bias.Length);
        GemmArguments.Check(transposeA, transposeB, m, n, k, a.Length, lda, b.Length, ldb, c.Length, ldc);
        for (var i = 0; i < m; i++) bias[..n].CopyTo(c.Slice(i * ldc, n));
        Multiply(transposeA, transposeB, m, n, k, alpha, a, lda, b, ldb, 1f, c, ldc);
    }

    /// <summary>
    /// <see cref="Multiply"/>, or with a non-empty <paramref name="bias"/> <see cref="MultiplyWithBias"/> (beta then
    /// ignored), with B given as bfloat16 bits (<see cref="BFloat16"/>): the result is the one for B widened to float32.
    /// This default widens all of B into a temporary array first; a path that widens B as it packs it overrides it, so
    /// that no float32 copy of B is ever whole.
    /// </summary>
    void MultiplyBFloat16(bool transposeA, bool transposeB, int m, int n, int k,
        float alpha, ReadOnlySpan<float> a, int lda,
        ReadOnlySpan<ushort> b, int ldb,
        float beta, ReadOnlySpan<float> bias, Span<float> c, int ldc)
    {
        var wide = GC.AllocateUninitializedArray<float>(b.Length);
        BFloat16.Widen(b, wide);
        if (bias.IsEmpty) Multiply(transposeA, transposeB, m, n, k, alpha, a, lda, wide, ldb, beta, c, ldc);
        else MultiplyWithBias(transposeA, transposeB, m, n, k, alpha, a, lda, wide, ldb, bias, c, ldc);
    }

    /// <summary>
    /// Packs a frozen weight W [rows×cols] (row-major, <paramref name="w"/>) for <see cref="MultiplyPacked"/>, or
    /// returns null where this path has no packed form worth keeping; the caller then keeps W as it is.
    /// </summary>
    PackedWeight? Pack(ReadOnlySpan<float> w, int rows, int cols) => null;

    /// <summary>
    /// A linear layer's product with a packed weight: C[m×n] = alpha · A[m×k] · op(W) + bias, or + beta·C when
    /// <paramref name="bias"/> is empty, with op(W) = Wᵀ (n = rows, k = cols) when <paramref name="transposed"/>,
    /// else W (n = cols, k = rows). The result is bitwise the one for W given unpacked. This default unpacks W into a
    /// temporary first, for a path that did not pack it.
    /// </summary>
    void MultiplyPacked(bool transposed, int m, float alpha, ReadOnlySpan<float> a, int lda, PackedWeight w,
        float beta, ReadOnlySpan<float> bias, Span<float> c, int ldc) =>
        w.MultiplyUnpacked(this, transposed, m, alpha, a, lda, beta, bias, c, ldc);
}
