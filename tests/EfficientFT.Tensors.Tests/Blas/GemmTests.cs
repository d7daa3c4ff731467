using EfficientFT.Tensors.Blas;
using Xunit.Abstractions;

namespace EfficientFT.Tensors.Tests.Blas;

public class GemmTests(ITestOutputHelper output)
{
    /// <summary>
    /// (m, n, k) shapes around every boundary the blocked path has: 1 and the tile sizes (6×16, 8×32) ±1, Mc=144,
    /// Kc=256, Nc=3072, k=0, single rows and columns, and products large enough to run on two threads, split by
    /// rows only (m ≥ 96) and by rows and columns (m small, n wide). (31, 1, 65), (300, 8, 300), a LoRA rank-8
    /// product on two threads over two Kc slices, and (4100, 3, 30), two blocks of rows, are narrow enough to run as
    /// their mirror (see <see cref="ShapeTableReachesTheMirroredNarrowProducts"/>).
    /// </summary>
    private static readonly (int M, int N, int K)[] Shapes =
    [
        (1, 1, 1), (1, 33, 17), (31, 1, 65), (3, 7, 0), (7, 3, 1), (6, 16, 256), (8, 32, 257),
        (17, 31, 33), (33, 17, 7), (65, 129, 31), (145, 33, 3), (7, 3100, 5), (3, 5, 513),
        (129, 65, 257), (257, 129, 65), (289, 33, 257), (40, 300, 100), (5, 1000, 100), (300, 8, 300), (4100, 3, 30),
    ];

    private static readonly (float Alpha, float Beta)[] Scalars = [(1, 0), (1, 1), (-0.5f, 2), (0, 0.75f)];

    private static IEnumerable<(int M, int N, int K, bool TransposeA, bool TransposeB)> ShapesAndTransposes() =>
        from shape in Shapes
        from ta in new[] { false, true }
        from tb in new[] { false, true }
        select (shape.M, shape.N, shape.K, ta, tb);

    public static TheoryData<string> Paths => new()
    {
        "avx2/1", "avx2/2", "avx512/1", "avx512/2", "openblas",
    };

    private IGemm? Create(string path)
    {
        if (path == "openblas")
        {
            if (OpenBlas.IsAvailable) return OpenBlasGemm.Instance;
            output.WriteLine($"OpenBLAS not available ({OpenBlas.LoadError}); its tests are skipped.");
            return null;
        }
        var parts = path.Split('/');
        var width = parts[0] == "avx512" ? ManagedGemmWidth.Vector512 : ManagedGemmWidth.Vector256;
        return new ManagedGemm(width, int.Parse(parts[1]));
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void MatchesNaiveForEveryTransposeShapeAndScalars(string path)
    {
        var gemm = Create(path);
        if (gemm == null) return;
        var seed = 0;
        foreach (var (m, n, k, ta, tb) in ShapesAndTransposes())
            foreach (var (alpha, beta) in Scalars)
                Compare(gemm, ta, tb, m, n, k, alpha, beta, padding: (seed % 3) * 5, seed++);
        output.WriteLine($"{gemm.Name}: {seed} products match the reference.");
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void WithBiasMatchesReferenceOnCFilledWithTheBias(string path)
    {
        var gemm = Create(path);
        if (gemm == null) return;
        var seed = 0;
        foreach (var (m, n, k, ta, tb) in ShapesAndTransposes())
            foreach (var alpha in new[] { 1f, -0.5f })
                Compare(gemm, ta, tb, m, n, k, alpha, 0f, padding: (seed % 3) * 5, seed++, withBias: true);
        output.WriteLine($"{gemm.Name}: {seed} biased products match the reference.");
    }

    /// <summary>
    /// A product whose B block is deeper than one packed group of slices (n = 3100 spans two column blocks, and the
    /// first one's 3072 columns pack three 256-deep slices at a time, so k = 1030 needs two groups): the groups must
    /// chain their sums as single slices do, with and without a bias.
    /// </summary>
    [Theory]
    [InlineData("avx2/1")]
    [InlineData("avx2/2")]
    public void ProductsDeeperThanOnePackedGroupMatchTheReference(string path)
    {
        var gemm = Create(path)!;
        var seed = 500;
        foreach (var (ta, tb) in new[] { (false, false), (false, true), (true, false), (true, true) })
        {
            Compare(gemm, ta, tb, 13, 3100, 1030, 0.75f, 0.5f, padding: 3, seed++);
            Compare(gemm, ta, tb, 13, 3100, 1030, 1f, 0f, padding: 0, seed++, withBias: true);
        }
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void BetaZeroIgnoresNaNInC(string path)
    {
        var gemm = Create(path);
        if (gemm == null) return;
        foreach (var (m, n, k) in new[] { (7, 19, 5), (33, 70, 300), (1, 1, 0) })
        {
            var (a, b) = (Random(m * k, 1), Random(k * n, 2));
            var c = Enumerable.Repeat(float.NaN, m * n).ToArray();
            gemm.Multiply(false, true, m, n, k, 1f, a, k, Transpose(b, k, n), k, 0f, c, n);
            Assert.All(c, v => Assert.False(float.IsNaN(v)));
        }
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(false, true)]
    [InlineData(true, false)]
    [InlineData(true, true)]
    public void ManagedIsBitwiseIdenticalAcrossRunsThreadsAndWidths(bool ta, bool tb)
    {
        const int m = 150, n = 70, k = 300;
        var (a, b, c0) = (Random(m * k, 11), Random(k * n, 12), Random(m * n, 13));
        var (lda, ldb) = (ta ? m : k, tb ? k : n);
        float[] Run(IGemm g)
        {
            var c = (float[])c0.Clone();
            g.Multiply(ta, tb, m, n, k, 0.75f, a, lda, b, ldb, 0.5f, c, n);
            return c;
        }

        var bias = Random(n, 14);
        float[] RunWithBias(IGemm g)
        {
            var c = (float[])c0.Clone();
            g.MultiplyWithBias(ta, tb, m, n, k, 0.75f, a, lda, b, ldb, bias, c, n);
            return c;
        }

        var first = Run(new ManagedGemm(ManagedGemmWidth.Vector256, 2));
        Assert.Equal(first, Run(new ManagedGemm(ManagedGemmWidth.Vector256, 2)));
        Assert.Equal(first, Run(new ManagedGemm(ManagedGemmWidth.Vector256, 1)));
        Assert.Equal(first, Run(new ManagedGemm(ManagedGemmWidth.Vector256, 3)));
        Assert.Equal(first, Run(new ManagedGemm(ManagedGemmWidth.Vector512, 2)));
        var biased = RunWithBias(new ManagedGemm(ManagedGemmWidth.Vector256, 2));
        Assert.Equal(biased, RunWithBias(new ManagedGemm(ManagedGemmWidth.Vector256, 1)));
        Assert.Equal(biased, RunWithBias(new ManagedGemm(ManagedGemmWidth.Vector512, 2)));
    }

    /// <summary>
    /// A narrow C is computed as its mirror, Cᵀ = op(B)ᵀ·op(A)ᵀ, in a scratch. The tests above cover it only if the
    /// shape table reaches it with each kernel, on two threads and over more than one block of rows: against the naive
    /// reference (operand padding, every beta) and, bit for bit, against a bfloat16 B, which takes the direct route.
    /// </summary>
    [Fact]
    public void ShapeTableReachesTheMirroredNarrowProducts()
    {
        static bool Parallel((int M, int N, int K) s) => 2L * s.M * s.N * s.K >= 1 << 19;
        Assert.Contains(Shapes, s => s.K > 0 && GemmDriver<MicroKernel8x32>.MirrorPays(s.M, s.N) && Parallel(s));
        Assert.Contains(Shapes, s => s.K > 0 && GemmDriver<MicroKernel6x16>.MirrorPays(s.M, s.N) && Parallel(s));
        Assert.Contains(Shapes, s => s.K > 0 && GemmDriver<MicroKernel8x32>.MirrorPays(s.M, s.N) && s.M > GemmDriver<MicroKernel8x32>.MirrorRows);
        Assert.False(GemmDriver<MicroKernel8x32>.MirrorPays(8, 8));
        Assert.False(GemmDriver<MicroKernel8x32>.MirrorPays(1024, 64));
    }

    /// <summary>
    /// On several threads the last chunks of rows are cut small (<c>RowStarts</c>), so the thread that finishes first
    /// has work left to claim. The cut must still cover every row once, in whole Mr-row panels, and the shape table
    /// must reach it, so the reference comparisons above run through it on two threads.
    /// </summary>
    [Fact]
    public void SmallLastRowChunksCoverEveryRowOnce()
    {
        AssertCovers(GemmDriver<MicroKernel8x32>.RowStarts, MicroKernel8x32.Mr);
        AssertCovers(GemmDriver<MicroKernel6x16>.RowStarts, MicroKernel6x16.Mr);

        // 1,024 rows in 8 chunks on 2 threads: the first 6 keep their 128 rows, the last 256 come in small pieces.
        var starts = GemmDriver<MicroKernel8x32>.RowStarts(2, 1024, 8, 1);
        Assert.Equal(Enumerable.Range(0, 7).Select(c => 128 * c), starts.Take(7));
        Assert.All(starts.Skip(6).Zip(starts.Skip(7)), p => Assert.InRange(p.Second - p.First, GemmDriver<MicroKernel8x32>.MinChunkRows, 2 * GemmDriver<MicroKernel8x32>.MinChunkRows));
        Assert.Contains(Shapes, s => s.K > 0 && !GemmDriver<MicroKernel8x32>.SharesA(s.M, s.N) && 2L * s.M * s.N * s.K >= 1 << 19
            && GemmDriver<MicroKernel8x32>.Chunks(2, s.M, Math.Min(s.N, GemmDriver<MicroKernel8x32>.Nc)) is var (rows, cols)
            && GemmDriver<MicroKernel8x32>.RowStarts(2, s.M, rows, cols).Length - 1 > rows);

        static void AssertCovers(Func<int, int, int, int, int[]> rowStarts, int mr)
        {
            foreach (var threads in new[] { 1, 2, 3 })
            foreach (var m in new[] { 1, 7, 96, 257, 1000, 1024, 4100 })
            foreach (var rowChunks in new[] { 1, 2, 4, 8, 12 })
            {
                if (rowChunks > (m + mr - 1) / mr) continue;
                var starts = rowStarts(threads, m, rowChunks, 1);
                Assert.Equal(0, starts[0]);
                Assert.Equal(m, starts[^1]);
                Assert.True(rowChunks <= starts.Length - 1, $"{threads} threads, m {m}: fewer chunks than asked");
                for (var c = 0; c + 1 < starts.Length; c++)
                {
                    Assert.True(starts[c] < starts[c + 1], $"{threads} threads, m {m}, {rowChunks} chunks: chunk {c} is empty");
                    Assert.Equal(0, starts[c] % mr);
                }
            }
        }
    }

    /// <summary>
    /// Few rows against many columns take the schedule that shares A's panels (<c>SharesA</c>). Its sums must be the
    /// usual schedule's bit for bit, which the same product computed transposed shows: Cᵀ = op(B)ᵀ·op(A)ᵀ has more
    /// rows than columns, so it runs the usual schedule, and each element is the same chain of fused multiply-adds.
    /// Shapes: edge panels in both directions and a partial last slice; 400 rows, packed in two row blocks; one full
    /// block of 288 rows with k = 8,000, deeper than one packed group of A; 512 rows, the most that share A; a single row.
    /// </summary>
    [Theory]
    [InlineData("avx2/1")]
    [InlineData("avx2/2")]
    [InlineData("avx512/2")]
    public void FewRowsGiveBitwiseTheSumsOfTheUsualSchedule(string path)
    {
        var gemm = Create(path)!;
        var seed = 700;
        foreach (var (m, n, k) in new[] { (100, 700, 600), (400, 700, 600), (288, 300, 8000), (512, 513, 300), (1, 50, 40) })
        {
            Assert.True(GemmDriver<MicroKernel6x16>.SharesA(m, n) && !GemmDriver<MicroKernel6x16>.SharesA(n, m));
            foreach (var (ta, tb) in new[] { (false, false), (false, true), (true, false), (true, true) })
            {
                var (a, b, c0) = (Random(m * k, seed++), Random(k * n, seed++), Random(m * n, seed++));
                var (lda, ldb) = (ta ? m : k, tb ? k : n);
                var c = (float[])c0.Clone();
                gemm.Multiply(ta, tb, m, n, k, 0.75f, a, lda, b, ldb, 0.5f, c, n);
                var transposed = Transpose(c0, m, n);
                gemm.Multiply(!tb, !ta, n, m, k, 0.75f, b, ldb, a, lda, 0.5f, transposed, m);
                Assert.Equal(Transpose(transposed, n, m), c);
            }
        }
    }

    /// <summary>
    /// A bfloat16 B gives bit for bit the product of B widened to float32 on the same path, for every shape, transpose
    /// and scalar pair, with and without a bias. B's padding holds NaN codes to prove it is never read.
    /// </summary>
    [Theory]
    [MemberData(nameof(Paths))]
    public void BFloat16BEqualsItsWidenedFloat32(string path)
    {
        var gemm = Create(path);
        if (gemm == null) return;
        var seed = 0;
        foreach (var (m, n, k, ta, tb) in ShapesAndTransposes())
        {
            foreach (var (alpha, beta) in Scalars.Append((0.5f, float.NaN)))
            {
                seed++;
                var padding = seed % 3 * 5;
                var (aRows, aCols) = ta ? (k, m) : (m, k);
                var (bRows, bCols) = tb ? (n, k) : (k, n);
                var (lda, ldb) = (aCols + padding, bCols + padding);
                var a = Padded(Random(aRows * aCols, seed * 3 + 1), aRows, aCols, lda, float.NaN);
                var b = Padded(Random(bRows * bCols, seed * 3 + 2), bRows, bCols, ldb, float.NaN);
                var bits = new ushort[b.Length];
                BFloat16.Narrow(b, bits);
                var widened = new float[b.Length];
                BFloat16.Widen(bits, widened);
                var c0 = Random(m * n, seed * 3 + 3);
                // beta NaN stands for "with a bias", which ignores beta and C.
                var bias = float.IsNaN(beta) ? Random(n, seed) : null;
                var (expected, actual) = ((float[])c0.Clone(), (float[])c0.Clone());
                if (bias == null) gemm.Multiply(ta, tb, m, n, k, alpha, a, lda, widened, ldb, beta, expected, n);
                else gemm.MultiplyWithBias(ta, tb, m, n, k, alpha, a, lda, widened, ldb, bias, expected, n);
                gemm.MultiplyBFloat16(ta, tb, m, n, k, alpha, a, lda, bits, ldb, bias == null ? beta : 0f, bias, actual, n);
                Assert.True(expected.AsSpan().SequenceEqual(actual), $"{gemm.Name} ta={ta} tb={tb} m={m} n={n} k={k} alpha={alpha} beta={beta}");
            }
        }
        output.WriteLine($"{gemm.Name}: {seed} bfloat16 products match.");
    }

    [Fact]
    public void BFloat16BThroughTheInterfaceDefaultMatchesToo()
    {
        const int m = 37, n = 45, k = 70;
        var (a, b) = (Random(m * k, 41), Random(n * k, 42));
        var bits = new ushort[b.Length];
        BFloat16.Narrow(b, bits);
        var widened = new float[b.Length];
        BFloat16.Widen(bits, widened);
        IGemm naive = NaiveGemm.Instance;
        var (expected, actual) = (new float[m * n], new float[m * n]);
        naive.Multiply(false, true, m, n, k, 1f, a, k, widened, k, 0f, expected, n);
        naive.MultiplyBFloat16(false, true, m, n, k, 1f, a, k, bits, k, 0f, default, actual, n);
        Assert.Equal(expected, actual);
        Assert.NotEqual(b, widened);
    }

    [Fact]
    public async Task ConcurrentProductsFromSeveralThreadsAreCorrect()
    {
        const int m = 200, n = 96, k = 128;
        var gemm = new ManagedGemm(ManagedGemmWidth.Vector256, 2);
        var (a, b) = (Random(m * k, 31), Random(k * n, 32));
        var expected = new float[m * n];
        gemm.Multiply(false, false, m, n, k, 1f, a, k, b, n, 0f, expected, n);
        var results = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(() =>
        {
            var c = new float[m * n];
            for (var r = 0; r < 20; r++) gemm.Multiply(false, false, m, n, k, 1f, a, k, b, n, 0f, c, n);
            return c;
        })));
        Assert.All(results, c => Assert.Equal(expected, c));
    }

    [Fact]
    public void OpenBlasIsRepeatable()
    {
        if (!OpenBlas.IsAvailable)
        {
            output.WriteLine($"OpenBLAS not available ({OpenBlas.LoadError}); skipped.");
            return;
        }
        const int m = 130, n = 200, k = 300;
        var (a, b) = (Random(m * k, 21), Random(n * k, 22));
        var (c1, c2) = (new float[m * n], new float[m * n]);
        OpenBlasGemm.Instance.Multiply(false, true, m, n, k, 1f, a, k, b, k, 0f, c1, n);
        OpenBlasGemm.Instance.Multiply(false, true, m, n, k, 1f, a, k, b, k, 0f, c2, n);
        Assert.Equal(c1, c2);
    }

    [Theory]
    [InlineData(null, "managed-")]
    [InlineData("", "managed-")]
    [InlineData("managed", "managed-")]
    [InlineData(" OpenBLAS ", "openblas")]
    [InlineData("naive", "naive")]
    public void EftGemmSettingPicksThePath(string? setting, string namePrefix) =>
        Assert.StartsWith(namePrefix, Gemm.Choose(setting).Name);

    [Fact]
    public void UnknownEftGemmSettingIsAnError() =>
        Assert.Throws<InvalidOperationException>(() => Gemm.Choose("mkl"));

    [Fact]
    public void RejectsTooShortOperands()
    {
        var gemm = new ManagedGemm(ManagedGemmWidth.Vector256, 1);
        Assert.Throws<ArgumentException>(() => gemm.Multiply(false, false, 2, 2, 2, 1, new float[3], 2, new float[4], 2, 0, new float[4], 2));
        Assert.Throws<ArgumentException>(() => gemm.Multiply(false, false, 2, 2, 2, 1, new float[4], 1, new float[4], 2, 0, new float[4], 2));
        var c = new float[4];
        var error = Assert.Throws<ArgumentException>(() => gemm.MultiplyWithBias(false, false, 2, 2, 2, 1, new float[4], 2, new float[4], 2, new float[1], c, 2));
        Assert.Contains("bias has 1 elements for 2 columns", error.Message);
        Assert.Equal(new float[4], c);
    }

    /// <summary>
    /// Compares with the double-accumulating reference. Tolerance: a float32 chain of k fused multiply-adds, the alpha
    /// and beta steps and the reference's own rounding each add at most one unit roundoff u = 2⁻²⁴ relative to the
    /// magnitudes involved, so |c − ref| ≤ 2(k + 3)·u·(|alpha|·Σ|a||b| + |beta|·|c₀|) bounds the error rigorously.
    /// Operand padding (leading dimension beyond the columns) holds NaN to prove it is never read; C's padding holds
    /// a sentinel to prove it is never written. With a bias, C starts as NaN (it must not be read) and the reference
    /// accumulates onto C filled with the bias rows, which bounds the error the same way with |bias| for |beta·c₀|.
    /// </summary>
    private static void Compare(IGemm gemm, bool ta, bool tb, int m, int n, int k, float alpha, float beta, int padding, int seed,
        bool withBias = false)
    {
        var (aRows, aCols) = ta ? (k, m) : (m, k);
        var (bRows, bCols) = tb ? (n, k) : (k, n);
        var (lda, ldb, ldc) = (aCols + padding, bCols + padding, n + padding);
        var a = Padded(Random(aRows * aCols, seed * 3 + 1), aRows, aCols, lda, float.NaN);
        var b = Padded(Random(bRows * bCols, seed * 3 + 2), bRows, bCols, ldb, float.NaN);
        const float sentinel = 12345f;
        var c = Padded(Random(m * n, seed * 3 + 3), m, n, ldc, sentinel);
        var bias = withBias ? Random(n, seed * 3 + 4) : null;
        if (bias != null)
        {
            beta = 1f;
            for (var i = 0; i < m; i++) bias.CopyTo(c.AsSpan(i * ldc, n));
        }
        var expected = (float[])c.Clone();
        var c0 = (float[])c.Clone();

        NaiveGemm.Instance.Multiply(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, expected, ldc);
        if (bias != null)
        {
            for (var i = 0; i < m; i++) c.AsSpan(i * ldc, n).Fill(float.NaN);
            gemm.MultiplyWithBias(ta, tb, m, n, k, alpha, a, lda, b, ldb, bias, c, ldc);
        }
        else
        {
            gemm.Multiply(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
        }

        const double u = 1.0 / (1 << 24);
        for (var i = 0; i < m; i++)
        {
            for (var j = 0; j < n; j++)
            {
                double magnitude = 0;
                for (var p = 0; p < k; p++)
                    magnitude += Math.Abs((double)(ta ? a[p * lda + i] : a[i * lda + p]) * (tb ? b[j * ldb + p] : b[p * ldb + j]));
                var tolerance = 2 * (k + 3) * u * (Math.Abs(alpha) * magnitude + Math.Abs(beta) * Math.Abs(c0[i * ldc + j])) + 1e-30;
                var (got, want) = (c[i * ldc + j], expected[i * ldc + j]);
                if (!(Math.Abs(got - want) <= tolerance))
                    Assert.Fail($"{gemm.Name} ta={ta} tb={tb} m={m} n={n} k={k} alpha={alpha} beta={beta} ld+{padding}: " +
                        $"C[{i},{j}] = {got}, reference {want}, tolerance {tolerance:g3}.");
            }
            for (var j = n; j < ldc && i < m - 1; j++)
                Assert.Equal(sentinel, c[i * ldc + j]);
        }
    }

    private static float[] Padded(float[] dense, int rows, int cols, int ld, float fill)
    {
        if (rows == 0 || cols == 0) return dense;
        var result = new float[(rows - 1) * ld + cols];
        Array.Fill(result, fill);
        for (var r = 0; r < rows; r++) dense.AsSpan(r * cols, cols).CopyTo(result.AsSpan(r * ld));
        return result;
    }

    private static float[] Transpose(float[] x, int rows, int cols)
    {
        var t = new float[x.Length];
        for (var r = 0; r < rows; r++)
            for (var c = 0; c < cols; c++) t[c * rows + r] = x[r * cols + c];
        return t;
    }

    private static float[] Random(int length, int seed)
    {
        var rng = new Random(seed);
        var x = new float[length];
        for (var i = 0; i < length; i++) x[i] = (float)(rng.NextDouble() * 2 - 1);
        return x;
    }
}
