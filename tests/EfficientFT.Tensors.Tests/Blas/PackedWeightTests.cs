using System.Runtime.Intrinsics;
using EfficientFT.Tensors.Blas;

namespace EfficientFT.Tensors.Tests.Blas;

/// <summary>
/// A weight packed whole gives bit for bit the products of the weight given as it is, on the same path: the packed
/// layouts must be exactly the panels each product would pack for itself, at every column block, slice and group.
/// </summary>
public class PackedWeightTests
{
    /// <summary>
    /// W [rows×cols] and the rows m of A: edge panels in both directions (37, 70); W wider than a column block as
    /// Wᵀ (3100 > Nc = 3072) and deeper than one packed group as W (3100 > 768 rows of slices 3072 wide); partial
    /// last slices (300, 513); a single row and 100 rows, which share A; 600 rows, the usual schedule.
    /// </summary>
    private static readonly (int Rows, int Cols, int M)[] Cases =
    [
        (37, 70, 1), (37, 70, 100), (37, 70, 600), (300, 513, 7), (300, 513, 600), (3100, 800, 600), (3100, 800, 130),
    ];

    public static TheoryData<string> Paths => new() { "avx2/1", "avx2/2", "avx512/1", "avx512/2" };

    private static ManagedGemm Create(string path)
    {
        var parts = path.Split('/');
        return new ManagedGemm(parts[0] == "avx512" ? ManagedGemmWidth.Vector512 : ManagedGemmWidth.Vector256, int.Parse(parts[1]));
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void PackedProductsEqualTheProductsOfTheWeightAsItIs(string path)
    {
        var gemm = Create(path);
        var seed = 0;
        foreach (var (rows, cols, m) in Cases)
        {
            // Vector512 runs in software where the CPU lacks AVX-512: the big cases would take minutes there.
            if (path.StartsWith("avx512") && !Vector512.IsHardwareAccelerated && (long)rows * cols * m > 50_000_000) continue;
            var w = Random(rows * cols, seed++);
            var packed = gemm.Pack(w, rows, cols);
            foreach (var transposed in new[] { true, false })
            {
                var (n, k) = transposed ? (rows, cols) : (cols, rows);
                var a = Random(m * k, seed++);
                foreach (var (alpha, beta, withBias) in new[] { (1f, 0f, false), (-0.5f, 2f, false), (1f, 0f, true), (0.75f, 0f, true) })
                {
                    var c0 = Random(m * n, seed++);
                    var bias = withBias ? Random(n, seed++) : null;
                    var (expected, actual) = ((float[])c0.Clone(), (float[])c0.Clone());
                    if (bias == null) gemm.Multiply(false, transposed, m, n, k, alpha, a, k, w, cols, beta, expected, n);
                    else gemm.MultiplyWithBias(false, transposed, m, n, k, alpha, a, k, w, cols, bias, expected, n);
                    gemm.MultiplyPacked(transposed, m, alpha, a, k, packed, beta, bias, actual, n);
                    Assert.True(expected.AsSpan().SequenceEqual(actual),
                        $"{gemm.Name} W {rows}×{cols} m={m} transposed={transposed} alpha={alpha} beta={beta} bias={withBias}");
                }
            }
        }
    }

    [Theory]
    [InlineData(37, 70)]
    [InlineData(3100, 800)]
    [InlineData(1, 1)]
    public void UnpackGivesTheWeightBack(int rows, int cols)
    {
        foreach (var width in new[] { ManagedGemmWidth.Vector256, ManagedGemmWidth.Vector512 })
        {
            var w = Random(rows * cols, rows + cols);
            var packed = new ManagedGemm(width, 1).Pack(w, rows, cols);
            var back = new float[rows * cols];
            packed.Unpack(back);
            Assert.Equal(w, back);
        }
    }

    /// <summary>
    /// Panels packed for one kernel width are unpacked by a path of the other, and by a path with no packed form
    /// (the interface's default): results are still those of the weight as it is, since every path's result does
    /// not depend on the kernel width.
    /// </summary>
    [Fact]
    public void OtherPathsReadThePanelsUnpacked()
    {
        const int rows = 45, cols = 70, m = 30;
        var w = Random(rows * cols, 5);
        var a = Random(m * cols, 6);
        var packed = new ManagedGemm(ManagedGemmWidth.Vector512, 1).Pack(w, rows, cols);
        IGemm naive = NaiveGemm.Instance;
        Assert.Null(naive.Pack(w, rows, cols));
        foreach (var gemm in new IGemm[] { new ManagedGemm(ManagedGemmWidth.Vector256, 2), naive })
        {
            var (expected, actual) = (new float[m * rows], new float[m * rows]);
            gemm.Multiply(false, true, m, rows, cols, 1f, a, cols, w, cols, 0f, expected, rows);
            gemm.MultiplyPacked(true, m, 1f, a, cols, packed, 0f, default, actual, rows);
            Assert.Equal(expected, actual);
        }
    }

    [Fact]
    public void MismatchedOperandsAreRefused()
    {
        var gemm = new ManagedGemm(ManagedGemmWidth.Vector256, 1);
        Assert.Throws<ArgumentException>(() => gemm.Pack(new float[10], 3, 4));
        var packed = gemm.Pack(new float[12], 3, 4);
        // A [2×4] against Wᵀ [4×3] fits a C of 6; a C of 5 does not, nor an A of 7.
        Assert.Throws<ArgumentException>(() => gemm.MultiplyPacked(true, 2, 1f, new float[8], 4, packed, 0f, default, new float[5], 3));
        Assert.Throws<ArgumentException>(() => gemm.MultiplyPacked(true, 2, 1f, new float[7], 4, packed, 0f, default, new float[6], 3));
        Assert.Throws<ArgumentException>(() => gemm.MultiplyPacked(true, 2, 1f, new float[8], 4, packed, 0f, new float[2], new float[6], 3));
    }

    private static float[] Random(int length, int seed)
    {
        var rng = new Random(seed);
        var x = new float[length];
        for (var i = 0; i < length; i++) x[i] = (float)(rng.NextDouble() * 2 - 1);
        return x;
    }
}
