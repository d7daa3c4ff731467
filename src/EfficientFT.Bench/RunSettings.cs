using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace EfficientFT.Bench;

/// <summary>
/// Everything that decides what one benchmark run computes, fully resolved (no defaults left to fill). Two runs with
/// equal settings compute the same thing, so <see cref="Id"/> is derived from these values alone: a rerun of a grid
/// finds the runs it already finished by id. Adding a setting changes every id, so add one only with a default that
/// is omitted from the canonical form when unset (as <see cref="MethodOptions"/> entries are).
/// </summary>
public sealed record RunSettings
{
    /// <summary>"embedded", a model directory, or a repository id in the Hugging Face cache.</summary>
    public required string Model { get; init; }

    /// <summary>A task name (GLUE name or embedded task) as the task source knows it.</summary>
    public required string Task { get; init; }

    /// <summary>A key of <c>PeftMethods.Registry</c>.</summary>
    public required string Method { get; init; }

    /// <summary>Targeted projections in canonical short form, e.g. "q,v" or "q,k,v".</summary>
    public required string Targets { get; init; }

    public required int Rank { get; init; }

    public required double Alpha { get; init; }

    /// <summary>λ: the value projection's tensors learn at λ·lr (EfficientFT's second insight); 1 leaves them.</summary>
    public required double Lambda { get; init; }

    public required double LearningRate { get; init; }

    public required ulong Seed { get; init; }

    public required int Epochs { get; init; }

    /// <summary>Optimizer steps; when set it replaces <see cref="Epochs"/>.</summary>
    public int? MaxSteps { get; init; }

    public required int BatchSize { get; init; }

    /// <summary>Tokens per example after truncation.</summary>
    public required int MaxLength { get; init; }

    /// <summary>constant, linear or cosine.</summary>
    public required string Schedule { get; init; }

    /// <summary>Share of the steps spent warming up.</summary>
    public required double WarmupRatio { get; init; }

    public required double WeightDecay { get; init; }

    public double? MaxGradNorm { get; init; }

    /// <summary>Adapter input dropout.</summary>
    public double AdapterDropout { get; init; }

    /// <summary>AdamW's β1, β2 and ε (transformers' adam_beta1, adam_beta2, adam_epsilon).</summary>
    public double AdamBeta1 { get; init; } = 0.9;

    public double AdamBeta2 { get; init; } = 0.999;

    public double AdamEpsilon { get; init; } = 1e-8;

    /// <summary>Micro-batches of <see cref="BatchSize"/> rows per optimizer step.</summary>
    public int GradientAccumulation { get; init; } = 1;

    /// <summary>
    /// The frozen matrices held in bfloat16 (`eft train --frozen-bf16`): half their memory, and their values rounded
    /// unless the checkpoint is bfloat16 already, so it is part of what a run computes.
    /// </summary>
    public bool FrozenBf16 { get; init; }

    /// <summary>Method-specific settings by name (sparse_rate, mpc, loraplus_ratio, …); sorted in the canonical form.</summary>
    public IReadOnlyDictionary<string, string> MethodOptions { get; init; } = new Dictionary<string, string>();

    /// <summary>The settings as one JSON line with sorted keys, the input of <see cref="Id"/>.</summary>
    public string CanonicalJson()
    {
        var sorted = new SortedDictionary<string, object?>(StringComparer.Ordinal)
        {
            ["model"] = Model, ["task"] = Task, ["method"] = Method, ["targets"] = Targets, ["rank"] = Rank,
            ["alpha"] = Alpha, ["lambda"] = Lambda, ["lr"] = LearningRate, ["seed"] = Seed, ["epochs"] = Epochs,
            ["max_steps"] = MaxSteps, ["batch_size"] = BatchSize, ["max_length"] = MaxLength, ["schedule"] = Schedule,
            ["warmup_ratio"] = WarmupRatio, ["weight_decay"] = WeightDecay, ["max_grad_norm"] = MaxGradNorm,
            ["adapter_dropout"] = AdapterDropout,
            ["method_options"] = new SortedDictionary<string, string>(MethodOptions.ToDictionary(), StringComparer.Ordinal),
        };
        // Only when set, so that the ids of every run made before the setting existed stay as they were.
        if (FrozenBf16) sorted["frozen_bf16"] = true;
        if (AdamBeta1 != 0.9) sorted["adam_beta1"] = AdamBeta1;
        if (AdamBeta2 != 0.999) sorted["adam_beta2"] = AdamBeta2;
        if (AdamEpsilon != 1e-8) sorted["adam_epsilon"] = AdamEpsilon;
        if (GradientAccumulation != 1) sorted["gradient_accumulation_steps"] = GradientAccumulation;
        return JsonSerializer.Serialize(sorted);
    }

    /// <summary>
    /// A readable prefix (task, method, targets, rank, λ, seed) and 10 hex digits of the SHA-256 of the canonical
    /// form; file-name safe.
    /// </summary>
    public string Id
    {
        get
        {
            var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(CanonicalJson())))[..10];
            // Invariant, as the id must not change with the culture of the process that makes the run.
            var readable = string.Create(CultureInfo.InvariantCulture, $"{Task}-{Method}-{Targets.Replace(",", "")}-r{Rank}-l{Lambda:G4}-s{Seed}");
            var safe = new string(readable.Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '.' or '_' ? c : '_').ToArray());
            return $"{safe}-{hash}";
        }
    }
}
