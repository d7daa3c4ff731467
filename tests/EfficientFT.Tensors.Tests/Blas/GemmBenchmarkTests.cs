using EfficientFT.Tensors.Blas;

namespace EfficientFT.Tensors.Tests.Blas;

/// <summary>`eft perf gemm` times only products that agree with each other, and the packed path where it applies.</summary>
/// <remarks>The benchmark sets the process-wide <see cref="Threading.Count"/> while it runs, so these run alone.</remarks>
[Collection(nameof(GemmBenchmarkTests))]
[CollectionDefinition(nameof(GemmBenchmarkTests), DisableParallelization = true)]
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

    [Theory]
    [InlineData(0.01f)]
    [InlineData(float.NaN)]
    public void APathThatDisagrees_StopsTheBenchmark(float error)
    {
        // NaN stands for an entry the path never wrote; it sits early in C, where a comparison that lets a later,
        // finite entry replace a NaN difference would miss it.
        var wrong = new OneEntryOff(new ManagedGemm(threads: 1), error);
        var e = Assert.Throws<InvalidOperationException>(() => GemmBenchmark.Run(
            [GemmPath.Plain(new ManagedGemm(threads: 1)), GemmPath.Plain(wrong)], [Forward], [1], warmup: 0, repetitions: 1));

        Assert.Contains(wrong.Name, e.Message);
        Assert.Contains(Forward.ToString(), e.Message);
    }

    [Fact]
    public void AReferenceThatLeavesAnEntryUnwritten_StopsTheBenchmark()
    {
        var wrong = new OneEntryOff(new ManagedGemm(threads: 1), float.NaN);
        var e = Assert.Throws<InvalidOperationException>(() => GemmBenchmark.Run(
            [GemmPath.Plain(wrong), GemmPath.Plain(new ManagedGemm(threads: 1))], [Forward], [1], warmup: 0, repetitions: 1));

        Assert.Contains($"{wrong.Name} left entries", e.Message);
    }

    [Fact]
    public void TheProductsAreCheckedAtEveryThreadCount()
    {
        // Right on two threads, wrong on one: a check only at the count the caller had set (two) would miss it.
        var saved = Threading.Count;
        Threading.Count = 2;
        try
        {
            var wrong = new WrongOnOneThread(new ManagedGemm());
            var e = Assert.Throws<InvalidOperationException>(() => GemmBenchmark.Run(
                [GemmPath.Plain(new ManagedGemm()), GemmPath.Plain(wrong)], [Forward], [2, 1], warmup: 0, repetitions: 1));

            Assert.Contains("on 1 thread(s)", e.Message);
        }
        finally
        {
            Threading.Count = saved;
        }
    }

    /// <summary>The right product except one entry, off by far more than rounding (or NaN).</summary>
    private sealed class OneEntryOff(IGemm inner, float error) : IGemm
    {
        public string Name => "one-entry-off";

        public void Multiply(bool transposeA, bool transposeB, int m, int n, int k, float alpha, ReadOnlySpan<float> a,
            int lda, ReadOnlySpan<float> b, int ldb, float beta, Span<float> c, int ldc)
        {
            inner.Multiply(transposeA, transposeB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
            c[ldc + 1] = float.IsNaN(error) ? error : c[ldc + 1] + error;
        }
    }

    /// <summary>The right product on several threads; on one, one entry off.</summary>
    private sealed class WrongOnOneThread(IGemm inner) : IGemm
    {
        public string Name => "wrong-on-one-thread";

        public void Multiply(bool transposeA, bool transposeB, int m, int n, int k, float alpha, ReadOnlySpan<float> a,
            int lda, ReadOnlySpan<float> b, int ldb, float beta, Span<float> c, int ldc)
        {
            inner.Multiply(transposeA, transposeB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
            if (Threading.Count == 1) c[0] += 0.01f;
        }
    }
}
