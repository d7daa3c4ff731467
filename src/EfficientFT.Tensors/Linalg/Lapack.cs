using EfficientFT.Tensors.Blas;

namespace EfficientFT.Tensors.Linalg;

/// <summary>
/// Dense factorizations of row-major float32 matrices. The public methods validate the input and apply the sign
/// convention (see <see cref="SignConvention"/>) so that every backend returns the same shapes, orders and signs;
/// backends only supply the numerical core. Implementations: <see cref="NativeLapack"/> (OpenBLAS) and
/// <see cref="ManagedLapack"/> (MathNet.Numerics).
/// </summary>
public abstract class Lapack
{
    private protected Lapack()
    {
    }

    /// <summary>A short name for reports ("openblas", "managed").</summary>
    public abstract string Name { get; }

    /// <summary>
    /// Thin SVD A = U · diag(S) · Vt of a row-major <paramref name="rows"/>×<paramref name="cols"/> matrix, with
    /// k = min(rows, cols): U is rows×k, S has k descending values, Vt is k×cols.
    /// </summary>
    public SvdResult Svd(ReadOnlySpan<float> a, int rows, int cols)
    {
        MatrixChecks.Matrix("svd", a, rows, cols);
        var k = Math.Min(rows, cols);
        var u = new float[rows * k];
        var s = new float[k];
        var vt = new float[k * cols];
        if (k > 0)
        {
            SvdCore(a, rows, cols, u, s, vt);
            SignConvention.Svd(u, vt, rows, cols, k);
        }
        return new SvdResult(u, s, vt, rows, cols, k);
    }

    /// <summary>
    /// Thin SVD as <see cref="Svd"/>, but with the signs LAPACK's gesdd gives the column-major A, unchanged: the
    /// singular vectors torch.linalg.svd returns on CPU. Where a result depends on the signs and must follow torch's,
    /// as GaLore's Adam moments carried across a change of projection do, the convention of <see cref="Svd"/> (chosen
    /// to agree across backends) would not; these signs exist only where LAPACK itself runs.
    /// </summary>
    /// <exception cref="NotSupportedException">The backend is not LAPACK (the managed one).</exception>
    public SvdResult SvdWithLapackSigns(ReadOnlySpan<float> a, int rows, int cols)
    {
        MatrixChecks.Matrix("svd", a, rows, cols);
        var k = Math.Min(rows, cols);
        var u = new float[rows * k];
        var s = new float[k];
        var vt = new float[k * cols];
        if (k > 0) LapackSignsSvdCore(a, rows, cols, u, s, vt);
        return new SvdResult(u, s, vt, rows, cols, k);
    }

    /// <summary>
    /// Thin QR A = Q · R of a row-major <paramref name="rows"/>×<paramref name="cols"/> matrix, with k = min(rows, cols):
    /// Q is rows×k with orthonormal columns, R is k×cols upper triangular with a non-negative diagonal.
    /// </summary>
    public QrResult Qr(ReadOnlySpan<float> a, int rows, int cols)
    {
        MatrixChecks.Matrix("qr", a, rows, cols);
        var k = Math.Min(rows, cols);
        var q = new float[rows * k];
        var r = new float[k * cols];
        if (k > 0)
        {
            QrCore(a, rows, cols, q, r);
            SignConvention.Qr(q, r, rows, cols, k);
        }
        return new QrResult(q, r, rows, cols, k);
    }

    /// <summary>
    /// Eigendecomposition of a symmetric <paramref name="n"/>×<paramref name="n"/> matrix: eigenvalues ascending,
    /// eigenvectors as the columns of a row-major n×n matrix.
    /// </summary>
    /// <remarks>
    /// The symmetric part (A + Aᵀ)/2 is decomposed, which is A itself for a symmetric input. Backends read different
    /// triangles, so symmetrising first keeps them in agreement when the input is only symmetric up to rounding.
    /// </remarks>
    public SymmetricEigenResult SymmetricEigen(ReadOnlySpan<float> a, int n)
    {
        MatrixChecks.Matrix("symmetric eigen", a, n, n);
        var symmetric = new float[n * n];
        for (var i = 0; i < n; i++)
        {
            for (var j = 0; j < n; j++)
            {
                // Halved in double: exact for an already symmetric pair, and no overflow near float.MaxValue.
                symmetric[i * n + j] = (float)(((double)a[i * n + j] + a[j * n + i]) * 0.5);
            }
        }
        var values = new float[n];
        var vectors = new float[n * n];
        if (n > 0)
        {
            SymmetricEigenCore(symmetric, n, values, vectors);
            SignConvention.Eigen(vectors, n);
        }
        return new SymmetricEigenResult(values, vectors, n);
    }

    /// <summary>
    /// Rank-<paramref name="rank"/> approximate SVD by randomized range finding (Halko, Martinsson and Tropp 2011,
    /// Algorithm 4.4): a Gaussian sketch of rank + <paramref name="oversample"/> columns, refined by
    /// <paramref name="powerIterations"/> rounds of multiplication by A·Aᵀ with QR re-orthonormalisation in between
    /// (PiSSA's "niter"). Products go through <see cref="Gemm.Default"/>; the small QR and SVD through this backend.
    /// </summary>
    /// <param name="seed">Seeds the Gaussian sketch; the same seed, input and thread count give the same result.</param>
    public SvdResult RandomizedSvd(ReadOnlySpan<float> a, int rows, int cols, int rank,
        int oversample = 10, int powerIterations = 2, ulong seed = 0)
    {
        MatrixChecks.Matrix("randomized svd", a, rows, cols);
        return Linalg.RandomizedSvd.Compute(this, Gemm.Default, a, rows, cols, rank, oversample, powerIterations, seed);
    }

    /// <summary>Fills U (rows×k), S (k, descending) and Vt (k×cols); k = min(rows, cols) &gt; 0.</summary>
    private protected abstract void SvdCore(ReadOnlySpan<float> a, int rows, int cols, float[] u, float[] s, float[] vt);

    /// <summary>
    /// Fills U, S and Vt as <see cref="SvdCore"/>, from gesdd run on the column-major A so that the signs are LAPACK's.
    /// </summary>
    private protected virtual void LapackSignsSvdCore(ReadOnlySpan<float> a, int rows, int cols, float[] u, float[] s, float[] vt) =>
        throw new NotSupportedException(
            $"The {Name} backend does not run LAPACK, so it cannot give LAPACK's singular-vector signs; OpenBLAS is needed ({OpenBlas.LoadError ?? "EFT_LAPACK=managed"}).");

    /// <summary>Fills Q (rows×k) and R (k×cols, upper triangular); k = min(rows, cols) &gt; 0.</summary>
    private protected abstract void QrCore(ReadOnlySpan<float> a, int rows, int cols, float[] q, float[] r);

    /// <summary>
    /// Fills ascending eigenvalues and the row-major eigenvector matrix (vectors as columns). The core owns
    /// <paramref name="symmetric"/> and may overwrite it.
    /// </summary>
    private protected abstract void SymmetricEigenCore(float[] symmetric, int n, float[] values, float[] vectors);
}
