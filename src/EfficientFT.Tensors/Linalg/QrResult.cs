namespace EfficientFT.Tensors.Linalg;

/// <summary>A thin QR decomposition A = Q · R of a row-major <paramref name="Rows"/>×<paramref name="Cols"/> matrix.</summary>
/// <param name="Q">Row-major Rows×K with orthonormal columns.</param>
/// <param name="R">Row-major K×Cols, upper triangular (zeros below the diagonal stored explicitly), diagonal non-negative.</param>
/// <param name="Rows">Rows of the decomposed matrix.</param>
/// <param name="Cols">Columns of the decomposed matrix.</param>
/// <param name="K">min(Rows, Cols).</param>
public sealed record QrResult(float[] Q, float[] R, int Rows, int Cols, int K);
