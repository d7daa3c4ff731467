using System.Text.Json.Nodes;
using EfficientFT.Models;
using EfficientFT.Models.Nn;
using EfficientFT.Models.SafeTensors;
using EfficientFT.Tensors;

namespace EfficientFT.Peft.Methods;

/// <summary>
/// AdaLoRA (Zhang et al., "Adaptive Budget Allocation for Parameter-Efficient Fine-Tuning", ICLR 2023) as peft
/// 0.15.1 implements it. Each target gets W + P Λ Q (<see cref="AdaLoraAdapter"/>); the loss gains
/// w · mean over every A and B of ‖A Aᵀ − I‖_F and ‖Bᵀ B − I‖_F (peft's unsquared form of the paper's
/// R(P, Q) = ‖PᵀP − I‖²_F + ‖QQᵀ − I‖²_F); after every optimizer step the <see cref="RankAllocator"/> prunes the
/// least important triplets down to a shrinking budget. Both run through <see cref="IStepHook"/>, so a training
/// loop that calls the hook gets the whole method, which peft users (and the original EfficientFT) often miss.
/// The saved adapter keeps only the surviving ranks and lists them in rank_pattern, as peft saves it.
/// </summary>
public sealed class AdaLora : IPeftMethod, IStatefulStepHook, IAdapterExporter
{
    private readonly List<(string Path, AdaLoraAdapter Adapter)> _layers = [];
    private AdaLoraOptions _options = new();
    private RankAllocator? _allocator;

    public string Name => "adalora";

    public bool UsesPeftKeys => true;

    /// <summary>The adapted layers, in model order.</summary>
    public IReadOnlyList<(string Path, AdaLoraAdapter Adapter)> Layers => _layers;

    /// <summary>The budget schedule and importance scores; null before <see cref="Apply"/>.</summary>
    public RankAllocator? Allocator => _allocator;

    public IReadOnlyList<PeftParameter> Apply(PretrainedModel model, IReadOnlyList<(string Path, Linear Layer)> targets, PeftOptions options)
    {
        _options = options.AdaLora ?? new AdaLoraOptions();
        if (_options.InitR < 1) throw new ArgumentException($"adalora: InitR must be at least 1, got {_options.InitR}.");
        if (_options.OrthRegWeight < 0) throw new ArgumentException($"adalora: OrthRegWeight must not be negative, got {_options.OrthRegWeight}.");
        var rng = new Rng(options.Seed);
        // peft: scaling = lora_alpha, or the rank when lora_alpha ≤ 0.
        var alpha = (float)(options.Alpha > 0 ? options.Alpha : _options.InitR);
        var trained = new List<PeftParameter>();
        _layers.Clear();
        foreach (var (path, layer) in targets)
        {
            var slots = Slots(path);
            var rank = slots.Length;
            var a = Tensor.Normal(rng, 0f, 0.02f, rank, layer.InFeatures);
            var b = Tensor.Normal(rng, 0f, 0.02f, layer.OutFeatures, rank);
            var e = Tensor.Zeros(rank, 1);
            foreach (var t in new[] { a, b, e }) t.RequiresGrad = true;
            var adapter = new AdaLoraAdapter(a, e, b, alpha, _options.InitR, (float)options.Dropout, slots);
            layer.Adapter = adapter;
            _layers.Add((path, adapter));
            var role = TargetSpec.RoleOf(path);
            trained.Add(new PeftParameter(PeftModel.AdapterKey(path, "lora_A"), a, role, "lora_A"));
            trained.Add(new PeftParameter(PeftModel.AdapterKey(path, "lora_B"), b, role, "lora_B"));
            trained.Add(new PeftParameter(PeftModel.AdapterKey(path, "lora_E"), e, role, "lora_E"));
        }
        _allocator = new RankAllocator(_layers, _options);
        return trained;
    }

    /// <summary>The initial ranks a layer holds: all of them, or the kept ones of a loaded rank_pattern.</summary>
    private int[] Slots(string path)
    {
        if (_options.RankPattern?.TryGetValue(path, out var kept) != true) return Enumerable.Range(0, _options.InitR).ToArray();
        if (kept!.Length != _options.InitR)
            throw new ArgumentException($"adalora: rank_pattern of {path} has {kept.Length} entries, init_r is {_options.InitR}.");
        return Enumerable.Range(0, kept.Length).Where(i => kept[i]).ToArray();
    }

    /// <summary>mean over every lora_A and lora_B of ‖A Aᵀ − I‖_F and ‖Bᵀ B − I‖_F, with gradient.</summary>
    public Tensor OrthogonalRegularizer()
    {
        if (_layers.Count == 0) throw new InvalidOperationException("adalora: the method has not been applied to a model.");
        Tensor? sum = null;
        foreach (var (_, adapter) in _layers)
        {
            var identity = Gram.Identity(adapter.Rank);
            var termA = Gram.Frobenius(Gram.OfRows(adapter.A) - identity);
            var termB = Gram.Frobenius(Gram.OfColumns(adapter.B) - identity);
            sum = (sum == null ? termA : sum + termA) + termB;
        }
        return sum! / (2f * _layers.Count);
    }

    /// <summary>OrthRegWeight × <see cref="OrthogonalRegularizer"/>, or null when the weight is 0.</summary>
    public Tensor? LossTerm() => _options.OrthRegWeight == 0 ? null : OrthogonalRegularizer() * (float)_options.OrthRegWeight;

    public void AfterOptimizerStep(int step) => AppliedAllocator().Step(step);

    public IEnumerable<SafeTensorsEntry> SaveState() => AppliedAllocator().SaveState();

    public void LoadState(SafeTensorsFile state) => AppliedAllocator().LoadState(state);

    private RankAllocator AppliedAllocator() =>
        _allocator ?? throw new InvalidOperationException("adalora: the method has not been applied to a model.");

    public IEnumerable<KeyValuePair<string, Tensor>> TensorsToSave(IReadOnlyList<PeftParameter> trainable)
    {
        var owners = new Dictionary<Tensor, (string Path, AdaLoraAdapter Adapter)>(ReferenceEqualityComparer.Instance);
        foreach (var layer in _layers)
        foreach (var t in new[] { layer.Adapter.A, layer.Adapter.B, layer.Adapter.E })
            owners[t] = layer;
        var pattern = _allocator?.RankPattern;
        foreach (var p in trainable)
        {
            if (pattern == null || !owners.TryGetValue(p.Value, out var owner) || !pattern.TryGetValue(owner.Path, out var kept))
            {
                yield return KeyValuePair.Create(p.Name, p.Value);
                continue;
            }
            var rows = Enumerable.Range(0, owner.Adapter.Rank).Where(i => kept[owner.Adapter.Slots[i]]).ToArray();
            yield return KeyValuePair.Create(p.Name, ReferenceEquals(p.Value, owner.Adapter.B) ? KeepColumns(p.Value, rows) : KeepRows(p.Value, rows));
        }
    }

    private static Tensor KeepRows(Tensor t, int[] rows)
    {
        var (count, width) = (t.Dim(0), t.Dim(1));
        if (rows.Length == count) return t;
        var source = t.AsSpan();
        var kept = new float[rows.Length * width];
        for (var i = 0; i < rows.Length; i++) source.Slice(rows[i] * width, width).CopyTo(kept.AsSpan(i * width, width));
        return Tensor.Wrap(kept, rows.Length, width);
    }

    private static Tensor KeepColumns(Tensor t, int[] columns)
    {
        var (height, count) = (t.Dim(0), t.Dim(1));
        if (columns.Length == count) return t;
        var source = t.AsSpan();
        var kept = new float[height * columns.Length];
        for (var r = 0; r < height; r++)
        for (var j = 0; j < columns.Length; j++)
            kept[r * columns.Length + j] = source[r * count + columns[j]];
        return Tensor.Wrap(kept, height, columns.Length);
    }

    public JsonObject AdapterConfig(PeftOptions options, IReadOnlyList<string> targetModules, IReadOnlyList<string> modulesToSave, string? taskType)
    {
        var ada = options.AdaLora ?? new AdaLoraOptions();
        var pattern = _allocator?.RankPattern ?? ada.RankPattern;
        JsonObject? rankPattern = null;
        if (pattern != null)
        {
            rankPattern = [];
            foreach (var (path, kept) in pattern) rankPattern[path + ".lora_E"] = new JsonArray(kept.Select(k => (JsonNode?)k).ToArray());
        }
        return new JsonObject
        {
            ["alpha_pattern"] = new JsonObject(),
            ["auto_mapping"] = null,
            ["base_model_name_or_path"] = "",
            ["beta1"] = ada.Beta1,
            ["beta2"] = ada.Beta2,
            ["bias"] = "none",
            ["corda_config"] = null,
            ["deltaT"] = ada.DeltaT,
            ["eva_config"] = null,
            ["exclude_modules"] = null,
            ["fan_in_fan_out"] = false,
            ["inference_mode"] = true,
            ["init_lora_weights"] = true,
            ["init_r"] = ada.InitR,
            ["layer_replication"] = null,
            ["layers_pattern"] = null,
            ["layers_to_transform"] = options.Targets.Layers == null ? null : new JsonArray(options.Targets.Layers.Select(l => (JsonNode?)l).ToArray()),
            ["loftq_config"] = new JsonObject(),
            ["lora_alpha"] = Lora.JsonNumber(options.Alpha),
            ["lora_bias"] = false,
            ["lora_dropout"] = options.Dropout,
            ["megatron_config"] = null,
            ["megatron_core"] = "megatron.core",
            ["modules_to_save"] = modulesToSave.Count == 0 ? null : new JsonArray(modulesToSave.Select(m => (JsonNode?)m).ToArray()),
            ["orth_reg_weight"] = ada.OrthRegWeight,
            ["peft_type"] = "ADALORA",
            ["r"] = options.Rank,
            ["rank_pattern"] = rankPattern,
            ["revision"] = null,
            ["target_modules"] = options.Targets.Pattern is { } regex ? regex : new JsonArray(targetModules.Select(m => (JsonNode?)m).ToArray()),
            ["target_r"] = ada.TargetR,
            ["task_type"] = taskType,
            ["tfinal"] = ada.Tfinal,
            ["tinit"] = ada.Tinit,
            ["total_step"] = ada.TotalStep,
            ["trainable_token_indices"] = null,
            ["use_dora"] = false,
            ["use_rslora"] = false,
        };
    }
}
