namespace EfficientFT.Tensors.Linalg;

/// <summary>
/// A (possibly truncated) singular value decomposition A ≈ U · diag(S) · Vt of a row-major
/// <paramref name="Rows"/>×<paramref name="Cols"/> matrix.
/// </summary>
/// <param name="U">
/// Row-major Rows×Rank; orthonormal columns, each signed so its largest-magnitude entry is positive (LAPACK's own signs
/// from <see cref="Lapack.SvdWithLapackSigns"/>).
/// </param>
/// <param name="S">Rank singular values, descending and non-negative.</param>
/// <param name="Vt">Row-major Rank×Cols; orthonormal rows (the right singular vectors).</param>
/// <param name="Rows">Rows of the decomposed matrix.</param>
/// <param name="Cols">Columns of the decomposed matrix.</param>
/// <param name="Rank">min(Rows, Cols) for a full thin SVD; the requested rank for a randomized one.</param>
public sealed record SvdResult(float[] U, float[] S, float[] Vt, int Rows, int Cols, int Rank);
