namespace EfficientFT.Tensors.Blas;

/// <summary>One matrix product to benchmark: C[m×n] = op(A)[m×k] · op(B)[k×n].</summary>
public readonly record struct GemmShape(int M, int N, int K, bool TransposeA, bool TransposeB)
{
    /// <summary>A linear layer over <paramref name="tokens"/> rows: C = X[tokens×inputs] · W[outputs×inputs]ᵀ.</summary>
    public static GemmShape Linear(int tokens, int inputs, int outputs) => new(tokens, outputs, inputs, false, true);

    public double Flops => 2.0 * M * N * K;

    public override string ToString() =>
        $"{M}×{K}×{N} {(TransposeA ? 'T' : 'N')}{(TransposeB ? 'T' : 'N')}";
}
