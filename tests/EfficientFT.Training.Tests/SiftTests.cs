using EfficientFT.Models;
using EfficientFT.Models.Nn;
using EfficientFT.Models.SafeTensors;
using EfficientFT.Peft;
using EfficientFT.Peft.Methods;
using EfficientFT.Tensors;
using EfficientFT.Tensors.Autograd;
using EfficientFT.Training.Optimizers;
using Xunit.Abstractions;

namespace EfficientFT.Training.Tests;

/// <summary>
/// SIFT on roberta_cls__sift. The reference applies its updates a step late and never trains layer 0's query
/// weight (see <see cref="Sift"/>), so its trajectory is not ours: the fixture checks what both share (the trained
/// set, step 1's forward and gradients, the supports chosen from them, the head after one step), and the rest is
/// checked against what the algorithm says: after one step only the support moved, by exactly AdamW's first step
/// of its gradient; later, δ's gradient is the dense gradient at the support.
/// </summary>
public sealed class SiftTests(ITestOutputHelper output)
{
    private const string CaseName = "roberta_cls__sift";
    private const double LearningRate = 1e-2;
    private const double Eps = 1e-8;

    private static IEnumerable<(string Name, SparseIncrement Increment)> Increments(PeftModel peft) =>
        peft.Targets.SelectMany(t =>
        {
            var adapter = (SiftAdapter)t.Layer.Adapter!;
            var list = new List<(string, SparseIncrement)> { (t.Path + ".weight", adapter.Weight) };
            if (adapter.Bias != null) list.Add((t.Path + ".bias", adapter.Bias));
            return list;
        });

    private static AdamW Optimizer(PeftModel peft) => new(ParameterGroups.Build(peft.Trainable, LearningRate), eps: Eps);

    /// <summary>The fixture's [ndim, k] coordinates as flat row-major indices.</summary>
    private static HashSet<int> FixtureSupport(FixtureCase c, string name, int[] shape)
    {
        using var file = SafeTensorsFile.Open(Path.Combine(c.Directory, "expected.safetensors"));
        var coordinates = file.GetInt64("sift.idx." + name);
        var k = coordinates.Length / shape.Length;
        return Enumerable.Range(0, k).Select(j => shape.Length == 1 ? (int)coordinates[j] : (int)(coordinates[j] * shape[1] + coordinates[k + j])).ToHashSet();
    }

    /// <summary>The k entries of largest |g|, straight from the definition.</summary>
    private static HashSet<int> TopK(Tensor g, int k) =>
        g.ToArray().Select((v, i) => (Magnitude: Math.Abs(v), Index: i)).OrderByDescending(e => e.Magnitude).Take(k).Select(e => e.Index).ToHashSet();

    [Fact]
    public void TrainableSet_IsTheSparseVectorsAndTheHead()
    {
        var c = FixtureCase.Load(CaseName);
        FixtureCase.AssertTrainableSet(c.Json, c.Peft);
        foreach (var reference in c.Json["sift"]!["sparse_params"]!.AsArray())
        {
            var (name, increment) = Increments(c.Peft).Single(i => i.Name == reference!["name"]!.GetValue<string>());
            Assert.Equal(reference!["train_num"]!.GetValue<int>(), increment.Values.Size);
            Assert.False(increment.Dense.RequiresGrad, name);
        }
    }

    [Theory]
    [InlineData(1024, 0.2, 205)]
    [InlineData(32, 0.2, 7)]
    [InlineData(40, 0.25, 11)]
    [InlineData(8, 1.0, 8)]
    public void Count_IsOneMoreThanTheRateOfTheSize_AsTheReference(int size, double rate, int expected) =>
        Assert.Equal(expected, Sift.Count(size, rate));

    [Fact]
    public void FirstBackward_ChoosesTheReferenceSupport_AndGivesItsGradient()
    {
        var c = FixtureCase.Load(CaseName);
        var result = c.Peft.Forward(c.Batch, ForwardContext.Inference);
        result.Loss!.Backward();
        var checks = new Comparisons(output);
        checks.Check("loss_step_1", result.Loss, c.Expected["loss_step_1"], c.Tolerance("loss"));
        checks.Check("logits_init", result.Logits, c.Expected["logits_init"], c.Tolerance("logits_init"));
        foreach (var p in c.Peft.Trainable.Where(p => p.Kind == "head"))
            checks.Check("grad." + p.Name, p.Value.Grad!, c.Expected["grad." + p.Name], c.Tolerance("grad"));
        var fromGradient = c.Json["sift"]!["sparse_params"]!.AsArray()
            .ToDictionary(p => p!["name"]!.GetValue<string>(), p => p!["index_from_gradient"]!.GetValue<bool>());
        foreach (var (name, increment) in Increments(c.Peft))
        {
            var dense = c.Expected["sift.dense_grad_step_1." + name];
            var ours = increment.Indices!.ToHashSet();
            Assert.Equal(increment.Values.Size, ours.Count);
            Assert.True(TopK(dense, increment.Values.Size).SetEquals(ours), $"{name}: support is not the top-k of the reference's dense gradient");
            // The reference never handles the tensor backward reaches last, so its indices there are random.
            if (fromGradient[name])
                Assert.True(FixtureSupport(c, name, increment.Dense.ShapeArray()).SetEquals(ours), $"{name}: support differs from sift.idx");
            checks.Check("grad." + name + "_sparse", increment.Values.Grad!, Ops.Gather(dense, increment.Indices!), c.Tolerance("grad"));
            Assert.Null(increment.Dense.Grad);
        }
        checks.AssertAll();
    }

    [Fact]
    public void OneStep_MovesOnlyTheSupport_ByAdamWsFirstStepOfItsGradient()
    {
        var c = FixtureCase.Load(CaseName);
        var before = Increments(c.Peft).ToDictionary(i => i.Name, i => i.Increment.Dense.ToArray());
        var optimizer = Optimizer(c.Peft);
        c.Peft.Forward(c.Batch, ForwardContext.Inference).Loss!.Backward();
        optimizer.Step();
        var checks = new Comparisons(output);
        foreach (var p in c.Peft.Trainable.Where(p => p.Kind == "head"))
            checks.Check("param_step_1." + p.Name, p.Value, c.Expected["param_step_1." + p.Name], c.Tolerance("param_step_1"));
        using var _ = GradMode.NoGrad();
        foreach (var (name, increment) in Increments(c.Peft))
        {
            Assert.Equal(before[name], increment.Dense.ToArray());
            var effective = increment.Effective().ToArray();
            var support = increment.Indices!.ToHashSet();
            for (var i = 0; i < effective.Length; i++)
                if (!support.Contains(i)) Assert.Equal(before[name][i], effective[i]);
            // AdamW's first step from 0: m = (1−β₁)g, v = (1−β₂)g², so δ = −lr·g/(|g| + ε) whatever the β.
            var g = Ops.Gather(c.Expected["sift.dense_grad_step_1." + name], increment.Indices!).ToArray();
            var step = Tensor.FromArray(g.Select(x => (float)(-LearningRate * x / (Math.Abs(x) + Eps))).ToArray(), g.Length);
            checks.Check(name + "_sparse after step 1", increment.Values, step, c.Tolerance("param_step_1"));
            var moved = Tensor.FromArray(increment.Indices!.Select(i => effective[i] - before[name][i]).ToArray(), g.Length);
            checks.Check(name + " support after step 1", moved, step, c.Tolerance("param_step_1"));
        }
        checks.AssertAll();
    }

    [Fact]
    public void LaterSteps_SparseGradientIsTheDenseGradientAtTheSupport()
    {
        var c = FixtureCase.Load(CaseName);
        var optimizer = Optimizer(c.Peft);
        var losses = new List<float>();
        for (var step = 1; step <= 3; step++)
        {
            var loss = c.Peft.Forward(c.Batch, ForwardContext.Inference).Loss!;
            loss.Backward();
            losses.Add(loss.Item());
            if (step == 3) break;
            optimizer.Step();
            optimizer.ZeroGrad();
        }
        output.WriteLine($"losses {string.Join(", ", losses)}; the reference's, which sees no SIFT update before step 3: " +
            string.Join(", ", Enumerable.Range(1, 3).Select(k => c.Expected[$"loss_step_{k}"].Item())));

        // The same point trained densely: W + scatter(δ) and the head, with the q/v weights and biases trainable.
        var (model, _) = Pretrained.Load(Path.Combine(c.Directory, "base"));
        var dense = PeftModel.Create(model, new PeftOptions { Method = "full_ft", Targets = TargetSpec.Parse("query,value") });
        var values = model.NamedTensors().ToDictionary(t => t.Name, t => t.Value);
        using (GradMode.NoGrad())
        {
            foreach (var (name, increment) in Increments(c.Peft)) values[name].CopyFrom(increment.Effective().AsSpan());
        }
        foreach (var p in c.Peft.Trainable.Where(p => p.Kind == "head")) values[p.Name].CopyFrom(p.Value.AsSpan());
        var denseLoss = dense.Forward(c.Batch, ForwardContext.Inference).Loss!;
        denseLoss.Backward();

        var tolerance = c.Tolerance("grad");
        var checks = new Comparisons(output);
        checks.Check("loss_step_3", denseLoss, Tensor.Scalar(losses[2]), c.Tolerance("loss"));
        foreach (var (name, increment) in Increments(c.Peft))
            checks.Check(name + "_sparse grad at step 3", increment.Values.Grad!, Ops.Gather(values[name].Grad!, increment.Indices!), tolerance);
        foreach (var p in c.Peft.Trainable.Where(p => p.Kind == "head"))
            checks.Check(p.Name + " grad at step 3", p.Value.Grad!, values[p.Name].Grad!, tolerance);
        checks.AssertAll();
        Assert.True(losses[1] < losses[0] && losses[2] < losses[1], $"losses {string.Join(", ", losses)} do not fall");
    }

    [Fact]
    public void MergeAndUnload_KeepsTheOutput_AndChangesOnlyTheSupport()
    {
        var c = FixtureCase.Load(CaseName);
        var optimizer = Optimizer(c.Peft);
        var before = Increments(c.Peft).ToDictionary(i => i.Name, i => i.Increment.Dense.ToArray());
        for (var step = 1; step <= 2; step++)
        {
            c.Peft.Forward(c.Batch, ForwardContext.Inference).Loss!.Backward();
            optimizer.Step();
            optimizer.ZeroGrad();
        }
        float[] Logits()
        {
            using var _ = GradMode.NoGrad();
            return c.Peft.Forward(c.Batch, ForwardContext.Inference).Logits.ToArray();
        }
        var adapted = Logits();
        var increments = Increments(c.Peft).ToList();
        c.Peft.MergeAndUnload();
        FixtureCase.AssertClose(adapted, Logits(), 1e-5, "merged logits");
        foreach (var (name, increment) in increments)
        {
            var support = increment.Indices!.ToHashSet();
            var merged = increment.Dense.ToArray();
            Assert.All(Enumerable.Range(0, merged.Length).Where(i => !support.Contains(i)), i => Assert.Equal(before[name][i], merged[i]));
            Assert.Contains(Enumerable.Range(0, merged.Length), i => merged[i] != before[name][i]);
        }
    }

    [Fact]
    public void SaveAdapter_RefusesBeforeWritingAnything()
    {
        var c = FixtureCase.Load(CaseName);
        var dir = Path.Combine(Path.GetTempPath(), "eft-sift-" + Guid.NewGuid().ToString("N"));
        Assert.Throws<NotSupportedException>(() => c.Peft.SaveAdapter(dir));
        Assert.False(Directory.Exists(dir));
    }
}
