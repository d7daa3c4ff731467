using EfficientFT.Tensors.Blas;

namespace EfficientFT.Tensors.Linalg;

/// <summary>Halko–Martinsson–Tropp randomized SVD; see <see cref="Lapack.RandomizedSvd"/>.</summary>
internal static class RandomizedSvd
{
    public static SvdResult Compute(Lapack lapack, IGemm gemm, ReadOnlySpan<float> a, int rows, int cols, int rank,
        int oversample, int powerIterations, ulong seed)
    {
        var k = Math.Min(rows, cols);
        if (rank < 1 || rank > k)
            throw new ArgumentException($"randomized svd: rank {rank} is outside [1, {k}] for a {rows}×{cols} matrix.");
        if (oversample < 0)
            throw new ArgumentException($"randomized svd: oversample {oversample} is negative.");
        if (powerIterations < 0)
            throw new ArgumentException($"randomized svd: powerIterations {powerIterations} is negative.");

        // The sketch can never usefully be wider than the matrix's rank bound.
        var width = Math.Min(rank + oversample, k);

        var omega = new float[cols * width];
        new NormalSampler(seed).Fill(omega);

        var y = new float[rows * width];
        gemm.Multiply(false, false, rows, width, cols, 1f, a, cols, omega, width, 0f, y, width);
        var q = lapack.Qr(y, rows, width).Q;

        // Re-orthonormalising after every product keeps the small singular directions from drowning in rounding:
        // plain (A·Aᵀ)^p·A·Ω loses everything below σ₁·ε^(1/(2p+1)).
        var z = new float[cols * width];
        for (var i = 0; i < powerIterations; i++)
        {
            gemm.Multiply(true, false, cols, width, rows, 1f, a, cols, q, width, 0f, z, width);
            var qz = lapack.Qr(z, cols, width).Q;
            gemm.Multiply(false, false, rows, width, cols, 1f, a, cols, qz, width, 0f, y, width);
            q = lapack.Qr(y, rows, width).Q;
        }

        // A ≈ Q·(QᵀA); the SVD of the small width×cols matrix QᵀA lifts back through Q.
        var b = new float[width * cols];
        gemm.Multiply(true, false, width, cols, rows, 1f, q, width, a, cols, 0f, b, cols);
        var small = lapack.Svd(b, width, cols);

        var u = new float[rows * rank];
        gemm.Multiply(false, false, rows, rank, width, 1f, q, width, small.U, width, 0f, u, rank);
        var s = small.S.AsSpan(0, rank).ToArray();
        var vt = small.Vt.AsSpan(0, rank * cols).ToArray();
        SignConvention.Svd(u, vt, rows, cols, rank);
        return new SvdResult(u, s, vt, rows, cols, rank);
    }
}
