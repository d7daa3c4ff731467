using MathNet.Numerics;
using MathNet.Numerics.LinearAlgebra;
using MathNet.Numerics.LinearAlgebra.Factorization;

namespace EfficientFT.Tensors.Linalg;

/// <summary>
/// Factorizations through MathNet.Numerics' managed provider: the fallback where OpenBLAS is missing, and the
/// reference the native path is tested against. MathNet is column-major, so a row-major buffer handed to it as-is
/// is the transpose; the code uses that instead of copying where it can.
/// </summary>
public sealed class ManagedLapack : Lapack
{
    private ManagedLapack()
    {
    }

    public static ManagedLapack Instance { get; } = new();

    public override string Name => "managed";

    private protected override void SvdCore(ReadOnlySpan<float> a, int rows, int cols, float[] u, float[] s, float[] vt)
    {
        // MathNet's SVD always computes square U and Vᵀ; on a 768×3072 matrix that is a 3072×3072 factor nobody
        // asked for (35 s here). Factoring the tall orientation X (A or Aᵀ) as Q·R first leaves only a k×k SVD
        // (12-16 s).
        var transposed = Matrix<float>.Build.Dense(cols, rows, a.ToArray());
        var tallIsTranspose = rows < cols;
        var x = tallIsTranspose ? transposed : transposed.Transpose();

        Matrix<float> ux, vxt;
        Vector<float> singular;
        try
        {
            if (x.RowCount == x.ColumnCount)
            {
                var svd = x.Svd(computeVectors: true);
                (ux, singular, vxt) = (svd.U, svd.S, svd.VT);
            }
            else
            {
                var qr = x.QR(QRMethod.Thin);
                var svd = qr.R.Svd(computeVectors: true);
                (ux, singular, vxt) = (qr.Q * svd.U, svd.S, svd.VT);
            }
        }
        catch (NonConvergenceException e)
        {
            throw new LapackException("MathNet.Svd", 1, $"MathNet.Svd did not converge on a {rows}×{cols} matrix.", e);
        }

        for (var i = 0; i < s.Length; i++) s[i] = singular[i];
        if (tallIsTranspose)
        {
            // X = Aᵀ = Ux·S·Vxᵀ, so A = Vx·S·Uxᵀ: U = Vx and Vt = Uxᵀ, which are Vxᵀ and Ux read column-major.
            vxt.ToColumnMajorArray().CopyTo(u, 0);
            ux.ToColumnMajorArray().CopyTo(vt, 0);
        }
        else
        {
            ux.ToRowMajorArray().CopyTo(u, 0);
            vxt.ToRowMajorArray().CopyTo(vt, 0);
        }
    }

    private protected override void QrCore(ReadOnlySpan<float> a, int rows, int cols, float[] q, float[] r)
    {
        var matrix = Matrix<float>.Build.Dense(cols, rows, a.ToArray()).Transpose();
        if (rows >= cols)
        {
            var qr = matrix.QR(QRMethod.Thin);
            qr.Q.ToRowMajorArray().CopyTo(q, 0);
            qr.R.ToRowMajorArray().CopyTo(r, 0);
            return;
        }

        // MathNet's Householder QR needs rows ≥ cols. A wide A = [A₁ A₂] with square A₁ = Q·R₁ has R = [R₁ QᵀA₂],
        // which is what LAPACK's reflectors compute too.
        var square = matrix.SubMatrix(0, rows, 0, rows).QR(QRMethod.Thin);
        var upper = Matrix<float>.Build.Dense(rows, cols);
        upper.SetSubMatrix(0, 0, square.R);
        upper.SetSubMatrix(0, rows, square.Q.TransposeThisAndMultiply(matrix.SubMatrix(0, rows, rows, cols - rows)));
        square.Q.ToRowMajorArray().CopyTo(q, 0);
        upper.ToRowMajorArray().CopyTo(r, 0);
    }

    private protected override void SymmetricEigenCore(float[] symmetric, int n, float[] values, float[] vectors)
    {
        Evd<float> evd;
        try
        {
            evd = Matrix<float>.Build.Dense(n, n, symmetric).Evd(Symmetricity.Symmetric);
        }
        catch (NonConvergenceException e)
        {
            throw new LapackException("MathNet.Evd", 1, $"MathNet.Evd did not converge on a {n}×{n} matrix.", e);
        }

        // Sorted here rather than trusting MathNet's order, so the ascending contract holds whatever it does.
        var order = new int[n];
        var eigen = new double[n];
        for (var i = 0; i < n; i++)
        {
            order[i] = i;
            eigen[i] = evd.EigenValues[i].Real;
        }
        Array.Sort((double[])eigen.Clone(), order);
        var columns = evd.EigenVectors.ToColumnMajorArray();
        for (var j = 0; j < n; j++)
        {
            values[j] = (float)eigen[order[j]];
            for (var i = 0; i < n; i++) vectors[i * n + j] = columns[order[j] * n + i];
        }
    }
}
