using EfficientFT.Peft.Methods;
using EfficientFT.Tensors;
using EfficientFT.Tensors.Autograd;

namespace EfficientFT.Peft.Tests;

/// <summary>
/// AdaLoRA's parts that the two golden cases (three steps, no warm-up, no final phase) do not reach: the budget
/// schedule with tinit, tfinal and deltaT, ties at the threshold, the reapplied final mask, option checks, and the
/// regularizer on exactly orthogonal factors.
/// </summary>
public sealed class AdaLoraTests
{
    private static AdaLoraAdapter Adapter(int rank, int inFeatures, int outFeatures, ulong seed)
    {
        var rng = new Rng(seed);
        var a = Tensor.Parameter(Tensor.Normal(rng, 0f, 0.5f, rank, inFeatures));
        var e = Tensor.Parameter(Tensor.Normal(rng, 0f, 0.5f, rank, 1));
        var b = Tensor.Parameter(Tensor.Normal(rng, 0f, 0.5f, outFeatures, rank));
        return new AdaLoraAdapter(a, e, b, 8f, rank, 0f, Enumerable.Range(0, rank).ToArray());
    }

    private static List<(string, AdaLoraAdapter)> Layers(int count, int rank) =>
        Enumerable.Range(0, count).Select(i => ($"layer.{i}.query", Adapter(rank, 4, 3, (ulong)i + 1))).ToList();

    private static void SetGradients(IEnumerable<(string, AdaLoraAdapter)> layers, float value)
    {
        foreach (var (_, l) in layers)
        foreach (var p in new[] { l.A, l.B, l.E })
            p.Grad = Tensor.Full(value, p.ShapeArray());
    }

    [Fact]
    public void Budget_FollowsTheCubicSchedule()
    {
        // 4 layers of rank 12 → 48, target 8 each → 32; T = 10, tinit = 2, tfinal = 3, deltaT = 2.
        var allocator = new RankAllocator(Layers(4, 12), new AdaLoraOptions { TotalStep = 10, Tinit = 2, Tfinal = 3, DeltaT = 2 });
        Assert.Equal((48, 32), (allocator.InitialBudget, allocator.TargetBudget));
        Assert.Equal((48, false), allocator.Budget(2));
        Assert.Equal((40, false), allocator.Budget(3)); // 16·(1 − 1/5)³ + 32 = 40.192, masked only on even steps
        Assert.Equal((35, true), allocator.Budget(4)); // 16·0.6³ + 32 = 35.456
        Assert.Equal((33, false), allocator.Budget(5)); // 16·0.4³ + 32 = 33.024
        Assert.Equal((32, false), allocator.Budget(7)); // T − tfinal: Step forces the final mask whatever deltaT says
        Assert.Equal((32, true), allocator.Budget(8));
    }

    [Fact]
    public void EqualScores_AtTheThreshold_AreAllPruned()
    {
        // Zero gradients give every triplet the score 0, so "score ≤ kth smallest" holds for all of them: peft prunes
        // the whole adapter rather than break the tie, and so do we.
        var layers = Layers(2, 3);
        SetGradients(layers, 0f);
        var allocator = new RankAllocator(layers, new AdaLoraOptions { InitR = 3, TargetR = 2, TotalStep = 3 });
        allocator.Step(1);
        Assert.All(layers, l => Assert.All(l.Item2.E.ToArray(), v => Assert.Equal(0f, v)));
        Assert.All(allocator.RankPattern!.Values, kept => Assert.DoesNotContain(true, kept));
    }

    [Fact]
    public void FinalMask_IsReappliedAfterTheFinalStep_AndTheScoresNoLongerMove()
    {
        var layers = Layers(2, 3);
        var allocator = new RankAllocator(layers, new AdaLoraOptions { InitR = 3, TargetR = 1, TotalStep = 3, Tfinal = 1 });
        SetGradients(layers, 1f);
        allocator.Step(1);
        allocator.Step(2);
        var pattern = allocator.RankPattern!.ToDictionary(p => p.Key, p => (bool[])p.Value.Clone());
        Assert.Equal(2, pattern.Values.Sum(kept => kept.Count(k => k)));
        foreach (var (_, l) in layers) l.E.AsSpan().Fill(5f);
        allocator.Step(3);
        allocator.Step(4);
        foreach (var (path, l) in layers)
        {
            Assert.Equal(pattern[path], allocator.RankPattern![path]);
            var e = l.E.ToArray();
            for (var i = 0; i < e.Length; i++) Assert.Equal(pattern[path][i] ? 5f : 0f, e[i]);
        }
    }

    [Fact]
    public void Allocation_NeedsTheGradientsOfTheStep() =>
        Assert.Throws<InvalidOperationException>(() => new RankAllocator(Layers(1, 2), new AdaLoraOptions { TotalStep = 3 }).Step(1));

    [Theory]
    [InlineData(null, 0, 0)]
    [InlineData(3, 2, 1)]
    [InlineData(0, 0, 0)]
    public void Options_WithoutRoomToPrune_AreRefused(int? totalStep, int tinit, int tfinal) =>
        Assert.Throws<ArgumentException>(() => new RankAllocator(Layers(1, 2), new AdaLoraOptions { TotalStep = totalStep, Tinit = tinit, Tfinal = tfinal }));

    [Fact]
    public void Frobenius_OfZero_HasTheZeroSubgradient()
    {
        var m = Tensor.Parameter(Tensor.Zeros(2, 2));
        using (GradMode.NoGrad()) Assert.Equal(0f, Gram.Frobenius(m).Item());
        Gram.Frobenius(m).Backward();
        Assert.All(m.Grad!.ToArray(), g => Assert.Equal(0f, g));
    }
}
