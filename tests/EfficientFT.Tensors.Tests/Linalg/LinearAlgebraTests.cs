using EfficientFT.Tensors.Blas;
using EfficientFT.Tensors.Linalg;

namespace EfficientFT.Tensors.Tests.Linalg;

public class LinearAlgebraTests
{
    private const double Tolerance = 1e-5;

    private static string[] BackendNames => OpenBlas.IsAvailable ? ["managed", "native"] : ["managed"];

    public static TheoryData<string> Backends() => new(BackendNames);

    public static TheoryData<string, int, int> BackendsAndShapes()
    {
        var data = new TheoryData<string, int, int>();
        foreach (var backend in BackendNames)
        {
            foreach (var (rows, cols) in new[] { (7, 5), (5, 7), (64, 64), (130, 33), (33, 130), (1, 9), (9, 1) })
                data.Add(backend, rows, cols);
        }
        return data;
    }

    private static Lapack Backend(string name) => name == "native" ? NativeLapack.Instance : ManagedLapack.Instance;

    [Theory]
    [MemberData(nameof(BackendsAndShapes))]
    public void Svd_reconstructs_with_orthonormal_factors_and_descending_values(string backend, int rows, int cols)
    {
        var a = Gaussian(rows * cols, seed: 1);
        var svd = Backend(backend).Svd(a, rows, cols);
        var k = Math.Min(rows, cols);

        Assert.Equal((rows, cols, k), (svd.Rows, svd.Cols, svd.Rank));
        Assert.Equal(rows * k, svd.U.Length);
        Assert.Equal(k * cols, svd.Vt.Length);
        Assert.True(RelativeError(Reconstruct(svd), a) < Tolerance);
        Assert.True(GramError(svd.U, rows, k, columns: true) < Tolerance);
        Assert.True(GramError(svd.Vt, k, cols, columns: false) < Tolerance);
        for (var i = 0; i < k; i++)
        {
            Assert.True(svd.S[i] >= 0);
            if (i > 0) Assert.True(svd.S[i] <= svd.S[i - 1]);
        }
        AssertLargestEntryOfEachColumnPositive(svd.U, rows, k);
    }

    [Theory]
    [InlineData(40, 25)]
    [InlineData(25, 40)]
    [InlineData(32, 32)]
    public void Svd_backends_agree_on_values_and_signed_vectors(int rows, int cols)
    {
        if (!OpenBlas.IsAvailable) return;
        var k = Math.Min(rows, cols);
        // Evenly spaced singular values: gaps of 1 keep the vectors well conditioned.
        var a = WithSpectrum(rows, cols, Enumerable.Range(0, k).Select(i => (float)(k - i)).ToArray(), seed: 2);

        var native = NativeLapack.Instance.Svd(a, rows, cols);
        var managed = ManagedLapack.Instance.Svd(a, rows, cols);

        Assert.True(MaxAbsDifference(native.S, managed.S) < Tolerance * k);
        Assert.True(MaxAbsDifference(native.U, managed.U) < 1e-4);
        Assert.True(MaxAbsDifference(native.Vt, managed.Vt) < 1e-4);
    }

    [Theory]
    [InlineData(40, 25)]
    [InlineData(25, 40)]
    [InlineData(32, 32)]
    public void SvdWithLapackSigns_is_the_convention_svd_up_to_a_sign_per_pair(int rows, int cols)
    {
        if (!OpenBlas.IsAvailable) return;
        var k = Math.Min(rows, cols);
        var a = WithSpectrum(rows, cols, Enumerable.Range(0, k).Select(i => (float)(k - i)).ToArray(), seed: 7);

        var raw = NativeLapack.Instance.SvdWithLapackSigns(a, rows, cols);
        var signed = NativeLapack.Instance.Svd(a, rows, cols);

        Assert.True(RelativeError(Reconstruct(raw), a) < Tolerance);
        Assert.True(MaxAbsDifference(raw.S, signed.S) < Tolerance * k);
        for (var r = 0; r < k; r++)
        {
            // One sign per singular pair: U's column and Vt's row flip together.
            var sign = Math.Sign(Enumerable.Range(0, rows).Sum(i => (double)raw.U[i * k + r] * signed.U[i * k + r]));
            for (var i = 0; i < rows; i++) Assert.Equal(signed.U[i * k + r], sign * raw.U[i * k + r], 1e-4);
            for (var j = 0; j < cols; j++) Assert.Equal(signed.Vt[r * cols + j], sign * raw.Vt[r * cols + j], 1e-4);
        }
    }

    [Fact]
    public void SvdWithLapackSigns_is_refused_by_the_managed_backend() =>
        Assert.Throws<NotSupportedException>(() => ManagedLapack.Instance.SvdWithLapackSigns(new float[6], 2, 3));

    [Theory]
    [MemberData(nameof(BackendsAndShapes))]
    public void Qr_gives_orthonormal_q_and_upper_triangular_r_with_nonnegative_diagonal(string backend, int rows, int cols)
    {
        var a = Gaussian(rows * cols, seed: 3);
        var qr = Backend(backend).Qr(a, rows, cols);
        var k = Math.Min(rows, cols);

        Assert.Equal(k, qr.K);
        Assert.Equal(rows * k, qr.Q.Length);
        Assert.Equal(k * cols, qr.R.Length);
        Assert.True(GramError(qr.Q, rows, k, columns: true) < Tolerance);
        for (var i = 0; i < k; i++)
        {
            Assert.True(qr.R[i * cols + i] >= 0);
            for (var j = 0; j < Math.Min(i, cols); j++) Assert.Equal(0f, qr.R[i * cols + j]);
        }
        Assert.True(RelativeError(Multiply(qr.Q, qr.R, rows, k, cols), a) < Tolerance);
    }

    [Theory]
    [InlineData(7, 5)]
    [InlineData(5, 7)]
    [InlineData(64, 64)]
    [InlineData(130, 33)]
    public void Qr_backends_agree(int rows, int cols)
    {
        if (!OpenBlas.IsAvailable) return;
        var a = Gaussian(rows * cols, seed: 4);
        var native = NativeLapack.Instance.Qr(a, rows, cols);
        var managed = ManagedLapack.Instance.Qr(a, rows, cols);
        // With a non-negative diagonal the thin QR of a full-rank matrix is unique.
        Assert.True(MaxAbsDifference(native.Q, managed.Q) < 1e-4);
        Assert.True(MaxAbsDifference(native.R, managed.R) < 1e-4);
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public void SymmetricEigen_satisfies_av_equals_v_lambda(string backend)
    {
        foreach (var n in new[] { 1, 6, 50 })
        {
            var b = Gaussian(n * n, seed: 5);
            var a = new float[n * n];
            for (var i = 0; i < n; i++)
            {
                for (var j = 0; j < n; j++) a[i * n + j] = b[i * n + j] + b[j * n + i];
            }

            var eigen = Backend(backend).SymmetricEigen(a, n);

            Assert.Equal(n, eigen.Values.Length);
            for (var i = 1; i < n; i++) Assert.True(eigen.Values[i] >= eigen.Values[i - 1]);
            Assert.True(GramError(eigen.Vectors, n, n, columns: true) < Tolerance);
            var av = Multiply(a, eigen.Vectors, n, n, n);
            var vLambda = new float[n * n];
            for (var i = 0; i < n; i++)
            {
                for (var j = 0; j < n; j++) vLambda[i * n + j] = eigen.Vectors[i * n + j] * eigen.Values[j];
            }
            Assert.True(MaxAbsDifference(av, vLambda) / FrobeniusNorm(a) < Tolerance);
            AssertLargestEntryOfEachColumnPositive(eigen.Vectors, n, n);
        }
    }

    [Fact]
    public void SymmetricEigen_backends_agree()
    {
        if (!OpenBlas.IsAvailable) return;
        const int n = 24;
        var q = LinearAlgebra.Qr(Gaussian(n * n, seed: 6), n, n).Q;
        var a = new float[n * n];
        for (var i = 0; i < n; i++)
        {
            for (var j = 0; j < n; j++)
            {
                double sum = 0;
                for (var p = 0; p < n; p++) sum += (double)q[i * n + p] * (p - n / 2) * q[j * n + p];
                a[i * n + j] = (float)sum;
            }
        }

        var native = NativeLapack.Instance.SymmetricEigen(a, n);
        var managed = ManagedLapack.Instance.SymmetricEigen(a, n);

        for (var i = 0; i < n; i++) Assert.Equal(i - n / 2, native.Values[i], 1e-4);
        Assert.True(MaxAbsDifference(native.Values, managed.Values) < 1e-4);
        Assert.True(MaxAbsDifference(native.Vectors, managed.Vectors) < 1e-4);
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public void RandomizedSvd_recovers_a_decaying_spectrum(string backend)
    {
        const int rows = 200, cols = 120, rank = 8;
        var spectrum = Enumerable.Range(0, cols).Select(i => MathF.Pow(0.5f, i)).ToArray();
        var a = WithSpectrum(rows, cols, spectrum, seed: 7);
        var lapack = Backend(backend);

        var approx = lapack.RandomizedSvd(a, rows, cols, rank, seed: 42);
        var exact = lapack.Svd(a, rows, cols);

        Assert.Equal((rows, cols, rank), (approx.Rows, approx.Cols, approx.Rank));
        Assert.Equal(rows * rank, approx.U.Length);
        Assert.Equal(rank * cols, approx.Vt.Length);
        // Measured error is about 1e-7·σ₁, float32 rounding; the sketch's own error (≈ σ₁₉ ≈ 2e-6, squeezed further by
        // the power iterations) is below that.
        Assert.True(MaxSpectrumError(approx, spectrum) < 1e-6);
        Assert.True(GramError(approx.U, rows, rank, columns: true) < Tolerance);
        Assert.True(GramError(approx.Vt, rank, cols, columns: false) < Tolerance);
        // Gaps of a factor 2 make the leading vectors well defined; the sign convention makes them comparable.
        for (var i = 0; i < rows; i++)
        {
            for (var j = 0; j < 4; j++) Assert.Equal(exact.U[i * cols + j], approx.U[i * rank + j], 1e-3);
        }
        Assert.Equal(approx.U, lapack.RandomizedSvd(a, rows, cols, rank, seed: 42).U);
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public void RandomizedSvd_power_iterations_sharpen_a_thin_sketch(string backend)
    {
        const int rows = 200, cols = 120, rank = 8;
        var spectrum = Enumerable.Range(0, cols).Select(i => MathF.Pow(0.5f, i)).ToArray();
        var a = WithSpectrum(rows, cols, spectrum, seed: 7);
        var lapack = Backend(backend);

        // With only 2 extra columns the sketch leaks σ₁₀-sized error (measured 2e-4) until power iterations damp it.
        var plain = lapack.RandomizedSvd(a, rows, cols, rank, oversample: 2, powerIterations: 0, seed: 3);
        var refined = lapack.RandomizedSvd(a, rows, cols, rank, oversample: 2, powerIterations: 2, seed: 3);

        Assert.True(MaxSpectrumError(plain, spectrum) > 1e-5);
        Assert.True(MaxSpectrumError(refined, spectrum) < 1e-6);
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public void RandomizedSvd_without_oversampling_or_power_iterations_still_returns_orthonormal_factors(string backend)
    {
        var a = Gaussian(30 * 50, seed: 8);
        var svd = Backend(backend).RandomizedSvd(a, 30, 50, rank: 30, oversample: 0, powerIterations: 0, seed: 1);
        // Full rank sketch: the range is exact, so this is a full SVD.
        Assert.True(RelativeError(Reconstruct(svd), a) < Tolerance);
        Assert.True(GramError(svd.U, 30, 30, columns: true) < Tolerance);
    }

    [Fact]
    public void Non_finite_input_is_rejected_with_the_op_and_shape()
    {
        var a = Gaussian(35, seed: 9);
        a[12] = float.NaN;
        foreach (var lapack in new Lapack[] { ManagedLapack.Instance, NativeLapack.Instance })
        {
            var svd = Assert.Throws<ArgumentException>(() => lapack.Svd(a, 7, 5));
            Assert.Contains("svd", svd.Message);
            Assert.Contains("7×5", svd.Message);
            Assert.Contains("[2, 2]", svd.Message);
            Assert.Contains("qr", Assert.Throws<ArgumentException>(() => lapack.Qr(a, 5, 7)).Message);
            Assert.Contains("randomized svd", Assert.Throws<ArgumentException>(() => lapack.RandomizedSvd(a, 7, 5, 2)).Message);
        }
        var square = new float[9];
        square[4] = float.PositiveInfinity;
        Assert.Contains("symmetric eigen: the 3×3", Assert.Throws<ArgumentException>(() => LinearAlgebra.SymmetricEigen(square, 3)).Message);
    }

    [Fact]
    public void Bad_shapes_and_arguments_are_rejected()
    {
        var a = Gaussian(35, seed: 10);
        Assert.Contains("needs 36 elements", Assert.Throws<ArgumentException>(() => LinearAlgebra.Svd(a, 6, 6)).Message);
        Assert.Contains("negative shape", Assert.Throws<ArgumentException>(() => LinearAlgebra.Qr(a, -7, -5)).Message);
        Assert.Throws<ArgumentException>(() => LinearAlgebra.SymmetricEigen(a, 5));
        Assert.Contains("rank 6", Assert.Throws<ArgumentException>(() => LinearAlgebra.RandomizedSvd(a, 7, 5, 6)).Message);
        Assert.Throws<ArgumentException>(() => LinearAlgebra.RandomizedSvd(a, 7, 5, 0));
        Assert.Throws<ArgumentException>(() => LinearAlgebra.RandomizedSvd(a, 7, 5, 2, oversample: -1));
        Assert.Throws<ArgumentException>(() => LinearAlgebra.RandomizedSvd(a, 7, 5, 2, powerIterations: -1));
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public void Empty_matrices_give_empty_factors(string backend)
    {
        var svd = Backend(backend).Svd([], 0, 4);
        Assert.Equal(0, svd.Rank);
        Assert.Empty(svd.U);
        Assert.Empty(svd.Vt);
        Assert.Empty(Backend(backend).Qr([], 3, 0).Q);
        Assert.Empty(Backend(backend).SymmetricEigen([], 0).Values);
    }

    [Fact]
    public void Lapack_failures_name_the_routine_and_info()
    {
        var diverged = Assert.Throws<LapackException>(() => LapackException.ThrowIfFailed("sgesdd", 3));
        Assert.Equal(("sgesdd", 3), (diverged.Routine, diverged.Info));
        Assert.Contains("sgesdd did not converge (info=3)", diverged.Message);
        var rejected = Assert.Throws<LapackException>(() => LapackException.ThrowIfFailed("ssyevd", -5));
        Assert.Contains("argument 5 (info=-5)", rejected.Message);
        LapackException.ThrowIfFailed("sgeqrf", 0);
    }

    [Fact]
    public void Backend_choice_follows_eft_lapack_and_availability()
    {
        Assert.Same(NativeLapack.Instance, LinearAlgebra.Choose(null, () => true));
        Assert.Same(ManagedLapack.Instance, LinearAlgebra.Choose(null, () => false));
        Assert.Same(ManagedLapack.Instance, LinearAlgebra.Choose("Managed", () => true));
        Assert.Same(NativeLapack.Instance, LinearAlgebra.Choose("native", () => true));
        Assert.Throws<InvalidOperationException>(() => LinearAlgebra.Choose("native", () => false));
        Assert.Contains("EFT_LAPACK=mkl", Assert.Throws<InvalidOperationException>(() => LinearAlgebra.Choose("mkl", () => true)).Message);
    }

    [Fact]
    public void Facade_uses_the_settable_backend()
    {
        var original = LinearAlgebra.Backend;
        try
        {
            LinearAlgebra.Backend = ManagedLapack.Instance;
            var a = Gaussian(12, seed: 11);
            Assert.Equal(ManagedLapack.Instance.Svd(a, 4, 3).S, LinearAlgebra.Svd(a, 4, 3).S);
        }
        finally
        {
            LinearAlgebra.Backend = original;
        }
    }

    private static float[] Gaussian(int length, ulong seed)
    {
        var values = new float[length];
        new NormalSampler(seed).Fill(values);
        return values;
    }

    /// <summary>A = Q₁·diag(s)·Q₂ᵀ with random orthonormal Q₁ (rows×k) and Q₂ (cols×k).</summary>
    private static float[] WithSpectrum(int rows, int cols, float[] spectrum, ulong seed)
    {
        var k = spectrum.Length;
        var left = ManagedLapack.Instance.Qr(Gaussian(rows * k, seed), rows, k).Q;
        var right = ManagedLapack.Instance.Qr(Gaussian(cols * k, seed + 1), cols, k).Q;
        var a = new float[rows * cols];
        for (var i = 0; i < rows; i++)
        {
            for (var j = 0; j < cols; j++)
            {
                double sum = 0;
                for (var p = 0; p < k; p++) sum += (double)left[i * k + p] * spectrum[p] * right[j * k + p];
                a[i * cols + j] = (float)sum;
            }
        }
        return a;
    }

    private static double MaxSpectrumError(SvdResult svd, float[] spectrum) =>
        Enumerable.Range(0, svd.Rank).Max(i => Math.Abs((double)svd.S[i] - spectrum[i]));

    private static float[] Reconstruct(SvdResult svd)
    {
        var us = new float[svd.U.Length];
        for (var i = 0; i < svd.Rows; i++)
        {
            for (var j = 0; j < svd.Rank; j++) us[i * svd.Rank + j] = svd.U[i * svd.Rank + j] * svd.S[j];
        }
        return Multiply(us, svd.Vt, svd.Rows, svd.Rank, svd.Cols);
    }

    private static float[] Multiply(float[] a, float[] b, int m, int k, int n)
    {
        var c = new float[m * n];
        NaiveGemm.Instance.Multiply(false, false, m, n, k, 1f, a, k, b, n, 0f, c, n);
        return c;
    }

    /// <summary>Largest |Gᵢⱼ − δᵢⱼ| of the Gram matrix of the columns (or rows) of a row-major matrix.</summary>
    private static double GramError(float[] m, int rows, int cols, bool columns)
    {
        var (count, length) = columns ? (cols, rows) : (rows, cols);
        double worst = 0;
        for (var p = 0; p < count; p++)
        {
            for (var q = 0; q < count; q++)
            {
                double dot = 0;
                for (var i = 0; i < length; i++)
                {
                    dot += columns ? (double)m[i * cols + p] * m[i * cols + q] : (double)m[p * cols + i] * m[q * cols + i];
                }
                worst = Math.Max(worst, Math.Abs(dot - (p == q ? 1 : 0)));
            }
        }
        return worst;
    }

    private static void AssertLargestEntryOfEachColumnPositive(float[] m, int rows, int cols)
    {
        for (var j = 0; j < cols; j++)
        {
            var largest = 0f;
            for (var i = 0; i < rows; i++)
            {
                if (Math.Abs(m[i * cols + j]) > Math.Abs(largest)) largest = m[i * cols + j];
            }
            Assert.True(largest > 0, $"column {j}");
        }
    }

    private static double RelativeError(float[] actual, float[] expected)
    {
        double diff = 0;
        for (var i = 0; i < actual.Length; i++) diff += Math.Pow((double)actual[i] - expected[i], 2);
        return Math.Sqrt(diff) / FrobeniusNorm(expected);
    }

    private static double FrobeniusNorm(float[] m) => Math.Sqrt(m.Sum(x => (double)x * x));

    private static double MaxAbsDifference(float[] a, float[] b)
    {
        Assert.Equal(a.Length, b.Length);
        double worst = 0;
        for (var i = 0; i < a.Length; i++) worst = Math.Max(worst, Math.Abs(a[i] - b[i]));
        return worst;
    }
}
