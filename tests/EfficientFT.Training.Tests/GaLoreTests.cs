using System.Text.Json.Nodes;
using EfficientFT.Models.Nn;
using EfficientFT.Models.SafeTensors;
using EfficientFT.Peft;
using EfficientFT.Peft.Methods;
using EfficientFT.Tensors;
using EfficientFT.Tensors.Autograd;
using EfficientFT.Tensors.Blas;
using EfficientFT.Training.Optimizers;
using Xunit.Abstractions;

namespace EfficientFT.Training.Tests;

/// <summary>
/// GaLore against galore_torch.GaLoreAdamW on roberta_cls__galore (rank 2, update_proj_gap 2, scale 0.25): the
/// trainable set, the groups, every step-1 gradient, torch's projections at steps 1 and 3, the tensors after one step,
/// three losses, the final logits and the final tensors.
/// </summary>
public sealed class GaLoreTests(ITestOutputHelper output)
{
    private const string CaseName = "roberta_cls__galore";

    /// <summary>
    /// The fixture gives no tolerance for projections; the gradient's serves, since P's error is the gradient's
    /// (~1e-6 relative) over gaps between singular values of 0.1 and more. A vector of the wrong sign misses by ~0.5.
    /// </summary>
    private static readonly (double Rtol, double Atol) ProjectionTolerance = (1e-5, 1e-6);

    private static GaLoreAdamW Optimizer(FixtureCase c, double valueRatio = 1, bool torchSigns = true)
    {
        var reference = c.Json["optimizer"]!;
        var galore = reference["param_groups"]!.AsArray().Select(g => g!["galore"]).OfType<JsonObject>().First();
        var options = new GaLoreOptions
        {
            Rank = galore["rank"]!.GetValue<int>(),
            UpdateProjectionGap = galore["update_proj_gap"]!.GetValue<int>(),
            Scale = galore["scale"]!.GetValue<double>(),
            TorchSigns = torchSigns,
        };
        var betas = reference["betas"]!.AsArray().Select(b => b!.GetValue<double>()).ToArray();
        return GaLoreAdamW.Create(c.Peft.Trainable, reference["param_groups"]![0]!["lr"]!.GetValue<double>(), valueRatio, options,
            beta1: betas[0], beta2: betas[1], eps: reference["eps"]!.GetValue<double>());
    }

    [Fact]
    public void TrainableSet_IsTheTargetWeightsAndTheHead()
    {
        var c = FixtureCase.Load(CaseName);
        FixtureCase.AssertTrainableSet(c.Json, c.Peft);
        Assert.All(c.Peft.Targets, t => Assert.False(t.Layer.Bias!.RequiresGrad));
        Assert.All(c.Peft.Trainable.Where(p => p.Kind != "head"), p => Assert.Equal(GaLore.Kind, p.Kind));
    }

    [Fact]
    public void Groups_ProjectTheTargetWeightsAtTheReferenceRates()
    {
        var c = FixtureCase.Load(CaseName);
        var optimizer = Optimizer(c);
        foreach (var reference in c.Json["optimizer"]!["param_groups"]!.AsArray())
        {
            foreach (var name in reference!["params"]!.AsArray().Select(n => n!.GetValue<string>()))
            {
                var tensor = c.Peft.Trainable.Single(p => p.Name == name).Value;
                var (group, projection) = optimizer.Groups.Single(g => g.Group.Tensors.Contains(tensor));
                Assert.Equal(reference["lr"]!.GetValue<double>(), group.LearningRate, 12);
                Assert.Equal(reference["galore"] is JsonObject, projection != null);
            }
        }
    }

    [Fact]
    public void ValueRatio_StillGivesValueWeightsTheirOwnRate()
    {
        var c = FixtureCase.Load(CaseName);
        var optimizer = Optimizer(c, valueRatio: 4);
        foreach (var p in c.Peft.Trainable.Where(p => p.Kind == GaLore.Kind))
        {
            var (group, projection) = optimizer.Groups.Single(g => g.Group.Tensors.Contains(p.Value));
            Assert.NotNull(projection);
            Assert.Equal(p.Role == ProjectionRole.Value ? 4e-2 : 1e-2, group.LearningRate, 12);
        }
    }

    [Fact]
    public void ThreeSteps_FollowTheReference()
    {
        if (!OpenBlas.IsAvailable) return;
        var c = FixtureCase.Load(CaseName);
        var init = SafeTensorsFile.LoadAll(Path.Combine(c.Directory, "init.safetensors"));
        foreach (var p in c.Peft.Trainable) p.Value.CopyFrom(init[p.Name].AsSpan());
        var optimizer = Optimizer(c);
        var projected = c.Peft.Trainable.Where(p => p.Kind == GaLore.Kind).ToList();
        var checks = new Comparisons(output);
        for (var step = 1; step <= 3; step++)
        {
            var result = c.Peft.Forward(c.Batch, ForwardContext.Inference);
            result.Loss!.Backward();
            checks.Check($"loss_step_{step}", result.Loss, c.Expected[$"loss_step_{step}"], c.Tolerance("loss"));
            if (step == 1)
            {
                checks.Check("logits_init", result.Logits, c.Expected["logits_init"], c.Tolerance("logits_init"));
                foreach (var p in c.Peft.Trainable)
                    checks.Check("grad." + p.Name, p.Value.Grad!, c.Expected["grad." + p.Name], c.Tolerance("grad"));
            }
            optimizer.Step();
            // Steps 1 and 3 compute P (state steps 0 and 2 with update_proj_gap 2); step 3's signs must be torch's.
            if (step != 2)
            {
                var key = step == 1 ? "galore.ortho_step_1." : "galore.ortho_final.";
                foreach (var p in projected)
                    checks.Check(key + p.Name, optimizer.ProjectionOf(p.Value)!, c.Expected[key + p.Name], ProjectionTolerance);
            }
            if (step == 1)
            {
                foreach (var p in c.Peft.Trainable)
                    checks.Check("param_step_1." + p.Name, p.Value, c.Expected["param_step_1." + p.Name], c.Tolerance("param_step_1"));
            }
            optimizer.ZeroGrad();
        }
        using (GradMode.NoGrad())
        {
            var logits = c.Peft.Forward(c.Batch, ForwardContext.Inference).Logits;
            checks.Check("logits_final", logits, c.Expected["logits_final"], c.Tolerance("logits_final"));
        }
        var final = SafeTensorsFile.LoadAll(Path.Combine(c.Directory, "final.safetensors"));
        Assert.Equal(final.Keys.Order(), c.Peft.Trainable.Select(p => p.Name).Order());
        foreach (var p in c.Peft.Trainable)
            checks.Check("final." + p.Name, p.Value, final[p.Name], c.Tolerance("param_step_1"));
        checks.AssertAll();
    }

    [Fact]
    public void WideWeight_IsProjectedFromTheLeft_AndDecaysAfterTheStep()
    {
        // rows < cols: P = U[:, :r], R = Pᵀ·G, update P·N. One step from zero moments, in double, from the formula.
        const int rows = 3, cols = 7, rank = 2;
        const double lr = 0.1, decay = 0.1, scale = 0.5, beta1 = 0.9, beta2 = 0.999, eps = 1e-6;
        var rng = new Rng(11);
        var w = Tensor.Parameter(Tensor.Uniform(rng, -1, 1, rows, cols));
        var start = w.ToArray();
        w.Grad = Tensor.Uniform(rng, -1, 1, rows, cols);
        var g = w.Grad.ToArray();
        var optimizer = new GaLoreAdamW([new GaLoreGroup(new ParamGroup("w", lr, decay, [w]), new GaLoreOptions { Rank = rank, Scale = scale, TorchSigns = false })],
            beta1, beta2, eps);
        optimizer.Step();

        var u = Tensors.Linalg.LinearAlgebra.Svd(g, rows, cols).U;
        var p = new double[rows, rank];
        for (var i = 0; i < rows; i++)
        for (var r = 0; r < rank; r++) p[i, r] = u[i * Math.Min(rows, cols) + r];
        Assert.Equal(p.Cast<double>().Select(x => (float)x), optimizer.ProjectionOf(w)!.ToArray());
        var expected = new float[rows * cols];
        for (var j = 0; j < cols; j++)
        {
            var n = new double[rank];
            for (var r = 0; r < rank; r++)
            {
                var low = Enumerable.Range(0, rows).Sum(i => p[i, r] * g[i * cols + j]);
                n[r] = (1 - beta1) * low / (Math.Sqrt((1 - beta2) * low * low) + eps);
            }
            for (var i = 0; i < rows; i++)
            {
                var back = scale * Enumerable.Range(0, rank).Sum(r => p[i, r] * n[r]);
                var stepped = start[i * cols + j] - lr * Math.Sqrt(1 - beta2) / (1 - beta1) * back;
                expected[i * cols + j] = (float)(stepped - lr * decay * stepped);
            }
        }
        FixtureCase.AssertClose(expected, w.ToArray(), 1e-6, "weight after one step");
        Assert.Equal([rows, rank], optimizer.ProjectionOf(w)!.ShapeArray());
    }

    [Fact]
    public void StepsBeforeTheFirstRefresh_DoNotDependOnSingularVectorSigns()
    {
        // Flipping a row of P flips that component of R = G·Pᵀ, hence of M, but not V; N·P flips back. Only moments
        // carried into a new P (step 3 here) see the signs.
        var weights = new List<float[]>();
        foreach (var torchSigns in OpenBlas.IsAvailable ? new[] { true, false } : [false])
        {
            var c = FixtureCase.Load(CaseName);
            var optimizer = Optimizer(c, torchSigns: torchSigns);
            for (var step = 1; step <= 2; step++)
            {
                c.Peft.Forward(c.Batch, ForwardContext.Inference).Loss!.Backward();
                optimizer.Step();
                optimizer.ZeroGrad();
            }
            weights.Add(c.Peft.Trainable.SelectMany(p => p.Value.ToArray()).ToArray());
        }
        for (var i = 1; i < weights.Count; i++)
            FixtureCase.AssertClose(weights[0], weights[i], 1e-6, "weights after two steps");
    }
}
