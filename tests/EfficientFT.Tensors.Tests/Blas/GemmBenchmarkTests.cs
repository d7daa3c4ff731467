using EfficientFT.Tensors.Blas;

namespace EfficientFT.Tensors.Tests.Blas;

/// <summary>`eft perf gemm` times only products that agree with each other, and the packed path where it applies.</summary>
public class GemmBenchmarkTests
{
    private static readonly GemmShape Forward = GemmShape.Linear(20, 33, 40);
    private static readonly GemmShape InputGradient = new(20, 33, 40, false, false);
    private static readonly GemmShape WeightGradient = new(20, 33, 40, true, false);

    [Fact]
    public void PackedPath_TimesTheLayerProductsOnly()
    {
        var managed = new ManagedGemm(threads: 1);
        var results = GemmBenchmark.Run([GemmPath.Plain(managed), GemmPath.PackedWeight(managed)],
            [Forward, InputGradient, WeightGradient], [1], warmup: 0, repetitions: 1);

        var timed = results.Select(r => (r.Path, r.Shape)).ToHashSet();
        var packed = $"{managed.Name} packed";
        Assert.Contains((packed, Forward), timed);
        Assert.Contains((packed, InputGradient), timed);
        // Aᵀ·B is a weight's gradient, not a product with a held weight.
        Assert.DoesNotContain((packed, WeightGradient), timed);
        Assert.Equal(3, results.Count(r => r.Path == managed.Name));
    }

    [Fact]
    public void PackedPath_IsLeftOutWhereThePathHasNoPackedForm()
    {
        // The naive reference keeps weights as they are (IGemm.Pack's default, null).
        var results = GemmBenchmark.Run([GemmPath.Plain(new ManagedGemm(threads: 1)), GemmPath.PackedWeight(NaiveGemm.Instance)],
            [Forward], [1], warmup: 0, repetitions: 1);

        Assert.Single(results);
    }

    [Fact]
    public void APathThatDisagrees_StopsTheBenchmark()
    {
        var wrong = new OffByOneEntry(new ManagedGemm(threads: 1));
        var e = Assert.Throws<InvalidOperationException>(() => GemmBenchmark.Run(
            [GemmPath.Plain(new ManagedGemm(threads: 1)), GemmPath.Plain(wrong)], [Forward], [1], warmup: 0, repetitions: 1));

        Assert.Contains(wrong.Name, e.Message);
        Assert.Contains(Forward.ToString(), e.Message);
    }

    /// <summary>The right product except one entry, off by far more than rounding.</summary>
    private sealed class OffByOneEntry(IGemm inner) : IGemm
    {
        public string Name => "off-by-one";

        public void Multiply(bool transposeA, bool transposeB, int m, int n, int k, float alpha, ReadOnlySpan<float> a,
            int lda, ReadOnlySpan<float> b, int ldb, float beta, Span<float> c, int ldc)
        {
            inner.Multiply(transposeA, transposeB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
            c[ldc + 1] += 0.01f;
        }
    }
}
