using System.Text.Json.Nodes;
using EfficientFT.Models;
using EfficientFT.Models.Nn;
using EfficientFT.Tensors;
using EfficientFT.Tensors.Autograd;
using EfficientFT.Tensors.Linalg;

namespace EfficientFT.Peft.Methods;

/// <summary>How LoRA's factors start.</summary>
public enum LoraInit
{
    /// <summary>A ~ kaiming_uniform(a = √5) = U(±1/√in), B = 0 (peft's default).</summary>
    Default,

    /// <summary>PiSSA (Meng et al. 2024): A, B from the top-r singular triplets of W; W keeps the residual.</summary>
    Pissa,

    /// <summary>OLoRA (Büyükakyüz 2024): A, B from the thin QR of W; W keeps the residual.</summary>
    Olora,
}

/// <summary>
/// The LoRA family as peft 0.15.1 implements it: lora, rslora (s = α/√r, Kalajdzievski 2023), dora, pissa and
/// olora, and the combinations peft's flags allow (pissa+dora, rslora+dora, …) — one adapter, different scales,
/// magnitudes and initialisations. Rank and alpha may differ per module
/// (rank_pattern, alpha_pattern), and so then does the scale.
/// </summary>
public sealed class Lora(string name, LoraInit init = LoraInit.Default, bool rsLora = false, bool dora = false) : IPeftMethod
{
    public string Name { get; } = name;

    public bool UsesPeftKeys => true;

    /// <summary>
    /// Whether A and B are taken from the weight (PiSSA's singular vectors, OLoRA's QR), so the rank cannot exceed a
    /// targeted layer's smaller side.
    /// </summary>
    public bool FactorsTheWeight => init != LoraInit.Default;

    /// <summary>s = α/r (α/√r for rsLoRA) of the module at <paramref name="path"/>.</summary>
    public float Scale(PeftOptions options, string path)
    {
        var (rank, alpha) = (options.RankFor(path), options.AlphaFor(path));
        return (float)(rsLora ? alpha / Math.Sqrt(rank) : alpha / rank);
    }

    public IReadOnlyList<PeftParameter> Apply(PretrainedModel model, IReadOnlyList<(string Path, Linear Layer)> targets, PeftOptions options)
    {
        var rng = new Rng(options.Seed);
        var trained = new List<PeftParameter>();
        foreach (var (path, layer) in targets)
        {
            var rank = options.RankFor(path);
            if (rank < 1) throw new ArgumentException($"{Name}: rank must be at least 1, got {rank} for {path}.");
            var scale = Scale(options, path);
            var (a, b) = Initialise(layer, rank, options.PissaIterations, scale, rng);
            // DoRA's magnitude starts at ‖W + s·B·A‖ per row: ‖W‖ where B starts at zero; after PiSSA or OLoRA, W is the
            // residual and the norm is the original weight's, computed from the parts as peft's dora_init does.
            var magnitude = dora ? Tensor.Parameter(LoraAdapter.WeightNorm(layer.Weight, a, b, scale)) : null;
            a.RequiresGrad = true;
            b.RequiresGrad = true;
            layer.Adapter = new LoraAdapter(a, b, scale, (float)options.Dropout, magnitude);
            var role = TargetSpec.RoleOf(path);
            trained.Add(new PeftParameter(PeftModel.AdapterKey(path, "lora_A.weight"), a, role, "lora_A"));
            trained.Add(new PeftParameter(PeftModel.AdapterKey(path, "lora_B.weight"), b, role, "lora_B"));
            if (magnitude != null) trained.Add(new PeftParameter(PeftModel.AdapterKey(path, "lora_magnitude_vector"), magnitude, role, "magnitude"));
        }
        return trained;
    }

    private (Tensor A, Tensor B) Initialise(Linear layer, int rank, int? pissaIterations, float scale, Rng rng)
    {
        var (outFeatures, inFeatures) = (layer.OutFeatures, layer.InFeatures);
        if (rank > Math.Min(outFeatures, inFeatures) && FactorsTheWeight)
            throw new ArgumentException($"{Name}: rank {rank} exceeds min(out, in) = {Math.Min(outFeatures, inFeatures)} of a {outFeatures}×{inFeatures} layer.");
        switch (init)
        {
            case LoraInit.Default:
            {
                var bound = 1f / MathF.Sqrt(inFeatures);
                return (Tensor.Uniform(rng, -bound, bound, rank, inFeatures), Tensor.Zeros(outFeatures, rank));
            }
            case LoraInit.Pissa:
            {
                // W = U S Vᵀ; A = diag(√(S_r/s))·V_rᵀ, B = U_r·diag(√(S_r/s)), so s·B·A = U_r S_r V_rᵀ.
                // peft's pissa_niter_k swaps the exact SVD for a randomized one with k power iterations (fast init).
                var svd = pissaIterations is { } iterations
                    ? LinearAlgebra.RandomizedSvd(layer.Weight.Contiguous().AsSpan(), outFeatures, inFeatures, rank, powerIterations: iterations, seed: rng.NextUInt64())
                    : LinearAlgebra.Svd(layer.Weight.Contiguous().AsSpan(), outFeatures, inFeatures);
                var a = new float[rank * inFeatures];
                var b = new float[outFeatures * rank];
                for (var r = 0; r < rank; r++)
                {
                    var root = MathF.Sqrt(svd.S[r] / scale);
                    for (var j = 0; j < inFeatures; j++) a[r * inFeatures + j] = root * svd.Vt[r * inFeatures + j];
                    for (var i = 0; i < outFeatures; i++) b[i * rank + r] = root * svd.U[i * svd.Rank + r];
                }
                return KeepResidual(layer, Tensor.Wrap(a, rank, inFeatures), Tensor.Wrap(b, outFeatures, rank), scale);
            }
            default:
            {
                // W = Q R; A = R[:r], B = Q[:, :r].
                var qr = LinearAlgebra.Qr(layer.Weight.Contiguous().AsSpan(), outFeatures, inFeatures);
                var a = qr.R.AsSpan(0, rank * inFeatures).ToArray();
                var b = new float[outFeatures * rank];
                for (var i = 0; i < outFeatures; i++)
                for (var r = 0; r < rank; r++)
                    b[i * rank + r] = qr.Q[i * qr.K + r];
                return KeepResidual(layer, Tensor.Wrap(a, rank, inFeatures), Tensor.Wrap(b, outFeatures, rank), scale);
            }
        }
    }

    /// <summary>The base weight becomes W − s·B·A, so the adapted layer starts exactly where the base was.</summary>
    private static (Tensor A, Tensor B) KeepResidual(Linear layer, Tensor a, Tensor b, float scale)
    {
        using var _ = GradMode.NoGrad();
        layer.Weight.CopyFrom((layer.Weight - Ops.MatMul(b, a) * scale).AsSpan());
        return (a, b);
    }

    public JsonObject AdapterConfig(PeftOptions options, IReadOnlyList<string> targetModules, IReadOnlyList<string> modulesToSave, string? taskType)
    {
        var config = Config(options, targetModules, modulesToSave, taskType);
        // The randomized SVD draws from the seed, so the residual it leaves in the base weight is rebuilt only with it;
        // peft has no field for it (and its own randomized SVD is not seeded), and drops this one with a warning.
        if (init == LoraInit.Pissa && options.PissaIterations != null) config[AdapterConfigReader.PissaSeedKey] = options.Seed;
        return config;
    }

    private JsonObject Config(PeftOptions options, IReadOnlyList<string> targetModules, IReadOnlyList<string> modulesToSave, string? taskType) => new()
    {
        ["alpha_pattern"] = new JsonObject(options.AlphaPattern.Select(p => KeyValuePair.Create(p.Key, (JsonNode?)JsonNumber(p.Value)))),
        ["auto_mapping"] = null,
        ["base_model_name_or_path"] = "",
        ["bias"] = "none",
        ["corda_config"] = null,
        ["eva_config"] = null,
        ["exclude_modules"] = null,
        ["fan_in_fan_out"] = false,
        ["inference_mode"] = true,
        // The randomized SVD's iterations are part of PiSSA's residual, which peft rebuilds from this name on load.
        ["init_lora_weights"] = init switch
        {
            LoraInit.Pissa => options.PissaIterations is { } k ? $"pissa_niter_{k}" : "pissa",
            LoraInit.Olora => "olora",
            _ => true,
        },
        ["layer_replication"] = null,
        ["layers_pattern"] = null,
        ["layers_to_transform"] = options.Targets.Layers == null ? null : new JsonArray(options.Targets.Layers.Select(l => (JsonNode?)l).ToArray()),
        ["loftq_config"] = new JsonObject(),
        ["lora_alpha"] = JsonNumber(options.Alpha),
        ["lora_bias"] = false,
        ["lora_dropout"] = options.Dropout,
        ["megatron_config"] = null,
        ["megatron_core"] = "megatron.core",
        ["modules_to_save"] = modulesToSave.Count == 0 ? null : new JsonArray(modulesToSave.Select(m => (JsonNode?)m).ToArray()),
        ["peft_type"] = "LORA",
        ["r"] = options.Rank,
        ["rank_pattern"] = new JsonObject(options.RankPattern.Select(p => KeyValuePair.Create(p.Key, (JsonNode?)p.Value))),
        ["revision"] = null,
        ["target_modules"] = options.Targets.Pattern is { } pattern ? pattern : new JsonArray(targetModules.Select(m => (JsonNode?)m).ToArray()),
        ["task_type"] = taskType,
        ["trainable_token_indices"] = null,
        ["use_dora"] = dora,
        ["use_rslora"] = rsLora,
    };

    /// <summary>Integral values as JSON integers, as Python writes lora_alpha = 8.</summary>
    internal static JsonNode JsonNumber(double value) => value == Math.Floor(value) && Math.Abs(value) < 1e15 ? (long)value : value;
}
