namespace EfficientFT.Tensors.Linalg;

/// <summary>The eigendecomposition A = V · diag(Values) · Vᵀ of a symmetric <paramref name="N"/>×<paramref name="N"/> matrix.</summary>
/// <param name="Values">N eigenvalues in ascending order (LAPACK's order).</param>
/// <param name="Vectors">
/// Row-major N×N whose column j is the unit eigenvector of Values[j], signed so its largest-magnitude component is
/// positive; the columns are orthonormal, so A · V = V · diag(Values).
/// </param>
/// <param name="N">Order of the matrix.</param>
public sealed record SymmetricEigenResult(float[] Values, float[] Vectors, int N);
