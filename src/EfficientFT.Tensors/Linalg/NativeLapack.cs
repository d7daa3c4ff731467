using EfficientFT.Tensors.Blas;

namespace EfficientFT.Tensors.Linalg;

/// <summary>
/// Factorizations through OpenBLAS's bundled LAPACK (sgesdd, sgeqrf + sorgqr, ssyevd), called by their Fortran
/// symbols: every argument by pointer, column-major storage, and each CHARACTER argument followed by a hidden
/// trailing length (size_t in the gfortran ABI). Throws <see cref="DllNotFoundException"/> at first use when
/// <see cref="OpenBlas.IsAvailable"/> is false.
/// </summary>
public sealed unsafe class NativeLapack : Lapack
{
    private NativeLapack()
    {
    }

    public static NativeLapack Instance { get; } = new();

    public override string Name => "openblas";

    private protected override void SvdCore(ReadOnlySpan<float> a, int rows, int cols, float[] u, float[] s, float[] vt)
    {
        // LAPACK reads the row-major A as the column-major cols×rows matrix Aᵀ. Factoring Aᵀ = U'·S·V'ᵀ gives
        // A = V'·S·U'ᵀ, and the column-major buffers LAPACK writes are already our row-major answers: U' (cols×k)
        // is Vt (k×cols) and V'ᵀ (k×rows) is U (rows×k). No transposes, no copies besides the one sgesdd destroys.
        var k = Math.Min(rows, cols);
        Gesdd(cols, rows, a.ToArray(), s, vt, cols, u, k);
    }

    private protected override void LapackSignsSvdCore(ReadOnlySpan<float> a, int rows, int cols, float[] u, float[] s, float[] vt)
    {
        // The transposed view SvdCore factors gives other signs than torch, which hands gesdd A itself in column-major
        // order; so A is copied to column-major here and the column-major factors are copied back.
        var k = Math.Min(rows, cols);
        var columnMajor = new float[rows * cols];
        for (var i = 0; i < rows; i++)
        {
            for (var j = 0; j < cols; j++) columnMajor[j * rows + i] = a[i * cols + j];
        }
        var uColumns = new float[rows * k];
        var vtColumns = new float[k * cols];
        Gesdd(rows, cols, columnMajor, s, uColumns, rows, vtColumns, k);

        for (var i = 0; i < rows; i++)
        {
            for (var j = 0; j < k; j++) u[i * k + j] = uColumns[j * rows + i];
        }
        for (var i = 0; i < k; i++)
        {
            for (var j = 0; j < cols; j++) vt[i * cols + j] = vtColumns[j * k + i];
        }
    }

    /// <summary>
    /// sgesdd with jobz 'S' on the column-major m×n matrix in <paramref name="a"/> (destroyed): a workspace query,
    /// then the factorization into s, the column-major u (ldu) and vt (ldvt).
    /// </summary>
    private static void Gesdd(int m, int n, float[] a, float[] s, float[] u, int ldu, float[] vt, int ldvt)
    {
        var sgesdd = (delegate* unmanaged<byte*, int*, int*, float*, int*, float*, float*, int*, float*, int*,
            float*, int*, int*, int*, nint, void>)OpenBlas.Functions.Sgesdd;
        var iwork = new int[8 * Math.Min(m, n)];
        byte jobz = (byte)'S';
        int lda = m, info, lwork = -1;
        float query;
        fixed (float* pa = a, ps = s, pu = u, pvt = vt)
        fixed (int* piwork = iwork)
        {
            sgesdd(&jobz, &m, &n, pa, &lda, ps, pu, &ldu, pvt, &ldvt, &query, &lwork, piwork, &info, 1);
            LapackException.ThrowIfFailed("sgesdd", info);
            lwork = WorkspaceLength(query);
            var buffer = GC.AllocateUninitializedArray<float>(lwork);
            fixed (float* pwork = buffer)
                sgesdd(&jobz, &m, &n, pa, &lda, ps, pu, &ldu, pvt, &ldvt, pwork, &lwork, piwork, &info, 1);
            LapackException.ThrowIfFailed("sgesdd", info);
        }
    }

    private protected override void QrCore(ReadOnlySpan<float> a, int rows, int cols, float[] q, float[] r)
    {
        var sgeqrf = (delegate* unmanaged<int*, int*, float*, int*, float*, float*, int*, int*, void>)OpenBlas.Functions.Sgeqrf;
        var sorgqr = (delegate* unmanaged<int*, int*, int*, float*, int*, float*, float*, int*, int*, void>)OpenBlas.Functions.Sorgqr;

        // Unlike the SVD, QR of the transposed view would be an LQ of A, so A is copied to column-major.
        var k = Math.Min(rows, cols);
        var columnMajor = new float[rows * cols];
        for (var i = 0; i < rows; i++)
        {
            for (var j = 0; j < cols; j++) columnMajor[j * rows + i] = a[i * cols + j];
        }

        var tau = new float[k];
        int m = rows, n = cols, lda = rows, kk = k, info, lwork = -1;
        float qrQuery, orgQuery;
        fixed (float* pa = columnMajor, ptau = tau)
        {
            sgeqrf(&m, &n, pa, &lda, ptau, &qrQuery, &lwork, &info);
            LapackException.ThrowIfFailed("sgeqrf", info);
            sorgqr(&m, &kk, &kk, pa, &lda, ptau, &orgQuery, &lwork, &info);
            LapackException.ThrowIfFailed("sorgqr", info);
            lwork = Math.Max(WorkspaceLength(qrQuery), WorkspaceLength(orgQuery));
            var buffer = GC.AllocateUninitializedArray<float>(lwork);
            fixed (float* pwork = buffer)
            {
                sgeqrf(&m, &n, pa, &lda, ptau, pwork, &lwork, &info);
                LapackException.ThrowIfFailed("sgeqrf", info);

                // R lives on and above the diagonal; sorgqr is about to overwrite it with Q.
                for (var i = 0; i < k; i++)
                {
                    for (var j = i; j < cols; j++) r[i * cols + j] = columnMajor[j * rows + i];
                }

                sorgqr(&m, &kk, &kk, pa, &lda, ptau, pwork, &lwork, &info);
                LapackException.ThrowIfFailed("sorgqr", info);
            }
        }

        for (var i = 0; i < rows; i++)
        {
            for (var j = 0; j < k; j++) q[i * k + j] = columnMajor[j * rows + i];
        }
    }

    private protected override void SymmetricEigenCore(float[] symmetric, int n, float[] values, float[] vectors)
    {
        var ssyevd = (delegate* unmanaged<byte*, byte*, int*, float*, int*, float*, float*, int*, int*, int*, int*,
            nint, nint, void>)OpenBlas.Functions.Ssyevd;

        // A symmetric matrix is its own transpose, so the row-major buffer needs no reordering on the way in.
        byte jobz = (byte)'V', uplo = (byte)'U';
        int order = n, lda = n, info, lwork = -1, liwork = -1, iworkQuery;
        float workQuery;
        fixed (float* pa = symmetric, pw = values)
        {
            ssyevd(&jobz, &uplo, &order, pa, &lda, pw, &workQuery, &lwork, &iworkQuery, &liwork, &info, 1, 1);
            LapackException.ThrowIfFailed("ssyevd", info);
            lwork = WorkspaceLength(workQuery);
            liwork = Math.Max(1, iworkQuery);
            var work = GC.AllocateUninitializedArray<float>(lwork);
            var iwork = GC.AllocateUninitializedArray<int>(liwork);
            fixed (float* pwork = work)
            fixed (int* piwork = iwork)
                ssyevd(&jobz, &uplo, &order, pa, &lda, pw, pwork, &lwork, piwork, &liwork, &info, 1, 1);
            LapackException.ThrowIfFailed("ssyevd", info);
        }

        // Eigenvectors come back as the columns of a column-major matrix, i.e. as rows of our row-major buffer.
        for (var i = 0; i < n; i++)
        {
            for (var j = 0; j < n; j++) vectors[i * n + j] = symmetric[j * n + i];
        }
    }

    /// <summary>
    /// Workspace queries report the size in a float, which cannot hold every integer above 2²⁴; growing it by one
    /// float ulp (2⁻²³ relative) keeps a size that was rounded down from being too small.
    /// </summary>
    private static int WorkspaceLength(float query) =>
        Math.Max(1, checked((int)Math.Ceiling(query * (1.0 + 1.0 / (1 << 23)))));
}
