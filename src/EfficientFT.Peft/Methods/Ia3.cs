using System.Text.Json.Nodes;
using EfficientFT.Models;
using EfficientFT.Models.Nn;
using EfficientFT.Tensors;
using EfficientFT.Tensors.Autograd;

namespace EfficientFT.Peft.Methods;

/// <summary>
/// (IA)³, Liu et al. 2022, "Few-Shot Parameter-Efficient Fine-Tuning is Better and Cheaper than In-Context
/// Learning", §3.3: learned vectors rescale activations elementwise, l ⊙ (W x + b) for attention keys and values and
/// W (l ⊙ x) + b for the feed-forward projection, l starting at ones. As peft 0.15.1: ia3_l is [out, 1] for ordinary
/// targets and [1, in] for feedforward_modules, a module is feed-forward when its path ends with one of those names
/// (so RoBERTa's "output.dense" covers attention.output.dense too), and merging scales W's rows (and b) or columns.
/// </summary>
public sealed class Ia3 : IPeftMethod
{
    /// <summary>peft's defaults: the last projection of each family's feed-forward block.</summary>
    private static readonly string[] DefaultFeedForward = ["output.dense", "down_proj"];

    public string Name => "ia3";

    public bool UsesPeftKeys => true;

    public IReadOnlyList<PeftParameter> Apply(PretrainedModel model, IReadOnlyList<(string Path, Linear Layer)> targets, PeftOptions options)
    {
        var feedForward = options.FeedForwardModules ?? DefaultFeedForward;
        var trained = new List<PeftParameter>();
        foreach (var (path, layer) in targets)
        {
            var isFeedForward = IsFeedForward(path, feedForward);
            var scale = Tensor.Parameter(isFeedForward ? Tensor.Ones(1, layer.InFeatures) : Tensor.Ones(layer.OutFeatures, 1));
            layer.Adapter = new Ia3Adapter(scale, isFeedForward);
            trained.Add(new PeftParameter(PeftModel.AdapterKey(path, "ia3_l"), scale, TargetSpec.RoleOf(path), "ia3_l"));
        }
        return trained;
    }

    /// <summary>peft's test, a plain suffix match, so a name and a module path it names agree.</summary>
    private static bool IsFeedForward(string name, IReadOnlyList<string> feedForward) =>
        feedForward.Any(f => name.EndsWith(f, StringComparison.Ordinal));

    public JsonObject AdapterConfig(PeftOptions options, IReadOnlyList<string> targetModules, IReadOnlyList<string> modulesToSave, string? taskType)
    {
        var feedForward = options.FeedForwardModules ?? DefaultFeedForward;
        return new JsonObject
        {
            ["auto_mapping"] = null,
            ["base_model_name_or_path"] = "",
            ["exclude_modules"] = null,
            ["fan_in_fan_out"] = false,
            // The targets Apply scales on the input side. peft wants them as a subset of target_modules, spelled as there
            // ("attention.output.dense" for o, or full paths); a pattern has no such list, and the names select as in Apply.
            ["feedforward_modules"] = new JsonArray((options.Targets.Pattern != null ? feedForward : targetModules.Where(t => IsFeedForward(t, feedForward)))
                .Select(m => (JsonNode?)m).ToArray()),
            ["inference_mode"] = true,
            ["init_ia3_weights"] = true,
            ["modules_to_save"] = modulesToSave.Count == 0 ? null : new JsonArray(modulesToSave.Select(m => (JsonNode?)m).ToArray()),
            ["peft_type"] = "IA3",
            ["revision"] = null,
            ["target_modules"] = options.Targets.Pattern is { } pattern ? pattern : new JsonArray(targetModules.Select(m => (JsonNode?)m).ToArray()),
            ["task_type"] = taskType,
        };
    }
}

/// <summary>One (IA)³ vector on a linear layer: it scales the layer's input (feed-forward) or its output, bias included.</summary>
public sealed class Ia3Adapter(Tensor scale, bool feedForward) : IMergeableAdapter
{
    /// <summary>peft's guard against dividing by a zero scale when unmerging.</summary>
    private const float UnmergeEpsilon = 1e-8f;

    private bool _merged;

    /// <summary>ia3_l: [1, in] when feed-forward, else [out, 1].</summary>
    public Tensor Scale { get; } = scale;

    public bool IsFeedForward { get; } = feedForward;

    public bool MultipliesWeightAsIs => true;

    public Tensor Forward(Linear layer, Tensor x, ForwardContext context)
    {
        if (_merged) return Ops.Linear(x, layer.Weight, layer.Bias);
        return IsFeedForward
            ? Ops.Linear(x * Scale.Reshape(-1), layer.Weight, layer.Bias)
            : Ops.Linear(x, layer.Weight, layer.Bias) * Scale.Reshape(-1);
    }

    public void Merge(Linear layer)
    {
        if (_merged) throw new InvalidOperationException("The adapter is already merged.");
        Rescale(layer, divide: false);
        _merged = true;
    }

    /// <summary>Divides the scale back out, as peft does: exact only while no element of l is near zero.</summary>
    public void Unmerge(Linear layer)
    {
        if (!_merged) throw new InvalidOperationException("The adapter is not merged.");
        Rescale(layer, divide: true);
        _merged = false;
    }

    private void Rescale(Linear layer, bool divide)
    {
        using var _ = GradMode.NoGrad();
        var factor = divide ? 1f / (Scale + UnmergeEpsilon) : Scale;
        // [1, in] scales W's columns and [out, 1] its rows by broadcasting; only an output scale touches the bias.
        layer.Weight.CopyFrom((layer.Weight * factor).AsSpan());
        if (!IsFeedForward && layer.Bias != null) layer.Bias.CopyFrom((layer.Bias * factor.Reshape(-1)).AsSpan());
    }
}
