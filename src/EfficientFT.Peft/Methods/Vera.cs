using System.Text.Json.Nodes;
using EfficientFT.Models;
using EfficientFT.Models.Nn;
using EfficientFT.Tensors;
using EfficientFT.Tensors.Autograd;

namespace EfficientFT.Peft.Methods;

/// <summary>
/// VeRA, Kopiczko et al. 2024, "Vector-based Random Matrix Adaptation", Eq. 1: h = W₀x + Λ_b B Λ_d A x, with one
/// pair of frozen random matrices A [r, max_in] and B [max_out, r] shared by every adapted layer (each slices
/// A[:, :in] and B[:out, :]) and only the scaling vectors λ_b ∈ ℝ^out (init 0) and λ_d ∈ ℝ^r (init d_initial)
/// trained. As peft 0.15.1: A and B are Kaiming-uniform (bound √6/√fan_in) from a generator seeded with
/// projection_prng_key, and are saved as base_model.vera_A / vera_B. Our generator is not torch's, so an adapter
/// only reproduces peft's when its projections are loaded from the file.
/// </summary>
public sealed class Vera : IPeftMethod
{
    private IReadOnlyList<PeftParameter> _buffers = [];

    public string Name => "vera";

    public bool UsesPeftKeys => true;

    public IReadOnlyList<PeftParameter> Buffers => _buffers;

    public IReadOnlyList<PeftParameter> Apply(PretrainedModel model, IReadOnlyList<(string Path, Linear Layer)> targets, PeftOptions options)
    {
        if (options.Rank < 1) throw new ArgumentException($"{Name}: rank must be at least 1, got {options.Rank}.");
        var rank = options.Rank;
        var maxIn = targets.Max(t => t.Layer.InFeatures);
        var maxOut = targets.Max(t => t.Layer.OutFeatures);
        var rng = new Rng(options.ProjectionSeed);
        var a = KaimingUniform(rng, rank, maxIn);
        var b = KaimingUniform(rng, maxOut, rank);
        _buffers =
        [
            new PeftParameter("base_model.vera_A", a, ProjectionRole.Other, "vera_A"),
            new PeftParameter("base_model.vera_B", b, ProjectionRole.Other, "vera_B"),
        ];
        var trained = new List<PeftParameter>();
        foreach (var (path, layer) in targets)
        {
            var lambdaB = Tensor.Parameter(Tensor.Zeros(layer.OutFeatures));
            var lambdaD = Tensor.Parameter(Tensor.Full((float)options.VeraInitialD, rank));
            layer.Adapter = new VeraAdapter(a, b, lambdaB, lambdaD, (float)options.Dropout);
            var role = TargetSpec.RoleOf(path);
            trained.Add(new PeftParameter(PeftModel.AdapterKey(path, "vera_lambda_b"), lambdaB, role, "vera_lambda_b"));
            trained.Add(new PeftParameter(PeftModel.AdapterKey(path, "vera_lambda_d"), lambdaD, role, "vera_lambda_d"));
        }
        return trained;
    }

    /// <summary>peft's _kaiming_init: U(±√3·√2/√fan_in), fan_in being the second extent.</summary>
    private static Tensor KaimingUniform(Rng rng, int rows, int cols)
    {
        var bound = MathF.Sqrt(6f / cols);
        return Tensor.Uniform(rng, -bound, bound, rows, cols);
    }

    public JsonObject AdapterConfig(PeftOptions options, IReadOnlyList<string> targetModules, IReadOnlyList<string> modulesToSave, string? taskType) => new()
    {
        ["auto_mapping"] = null,
        ["base_model_name_or_path"] = "",
        ["bias"] = "none",
        ["d_initial"] = options.VeraInitialD,
        ["fan_in_fan_out"] = false,
        ["inference_mode"] = true,
        ["init_weights"] = true,
        ["layers_pattern"] = null,
        ["layers_to_transform"] = options.Targets.Layers == null ? null : new JsonArray(options.Targets.Layers.Select(l => (JsonNode?)l).ToArray()),
        ["modules_to_save"] = modulesToSave.Count == 0 ? null : new JsonArray(modulesToSave.Select(m => (JsonNode?)m).ToArray()),
        ["peft_type"] = "VERA",
        ["projection_prng_key"] = options.ProjectionSeed,
        ["r"] = options.Rank,
        ["revision"] = null,
        ["save_projection"] = true,
        ["target_modules"] = options.Targets.Pattern is { } pattern ? pattern : new JsonArray(targetModules.Select(m => (JsonNode?)m).ToArray()),
        ["task_type"] = taskType,
        ["vera_dropout"] = options.Dropout,
    };
}

/// <summary>VeRA on one linear layer: y = W x + b + λ_b ⊙ (B_s (λ_d ⊙ (A_s dropout(x)))).</summary>
public sealed class VeraAdapter(Tensor sharedA, Tensor sharedB, Tensor lambdaB, Tensor lambdaD, float dropout) : IMergeableAdapter
{
    private bool _merged;

    /// <summary>vera_lambda_b, [out].</summary>
    public Tensor LambdaB { get; } = lambdaB;

    /// <summary>vera_lambda_d, [r].</summary>
    public Tensor LambdaD { get; } = lambdaD;

    public bool MultipliesWeightAsIs => true;

    public Tensor Forward(Linear layer, Tensor x, ForwardContext context)
    {
        var y = Ops.Linear(x, layer.Weight, layer.Bias);
        if (_merged) return y;
        var (a, b) = Slices(layer);
        return y + Ops.Linear(Ops.Linear(context.Dropout(x, dropout), a) * LambdaD, b) * LambdaB;
    }

    /// <summary>A[:, :in] and B[:out, :] for this layer (copies; the shared matrices never change).</summary>
    private (Tensor A, Tensor B) Slices(Linear layer)
    {
        var a = sharedA.Dim(1) == layer.InFeatures ? sharedA : Ops.Slice(sharedA, 1, 0, layer.InFeatures);
        var b = sharedB.Dim(0) == layer.OutFeatures ? sharedB : Ops.Slice(sharedB, 0, 0, layer.OutFeatures);
        return (a, b);
    }

    /// <summary>ΔW = (λ_b ⊙ B_s)(λ_d ⊙ A_s), [out, in].</summary>
    private Tensor Delta(Linear layer)
    {
        var (a, b) = Slices(layer);
        return Ops.MatMul(b * LambdaB.Reshape(-1, 1), a * LambdaD.Reshape(-1, 1));
    }

    public void Merge(Linear layer)
    {
        if (_merged) throw new InvalidOperationException("The adapter is already merged.");
        using var _ = GradMode.NoGrad();
        layer.Weight.CopyFrom((layer.Weight + Delta(layer)).AsSpan());
        _merged = true;
    }

    public void Unmerge(Linear layer)
    {
        if (!_merged) throw new InvalidOperationException("The adapter is not merged.");
        using var _ = GradMode.NoGrad();
        layer.Weight.CopyFrom((layer.Weight - Delta(layer)).AsSpan());
        _merged = false;
    }
}
