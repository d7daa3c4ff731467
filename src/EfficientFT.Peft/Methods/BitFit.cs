using System.Text.Json.Nodes;
using EfficientFT.Models;
using EfficientFT.Models.Nn;

namespace EfficientFT.Peft.Methods;

/// <summary>
/// BitFit, Ben Zaken, Ravfogel &amp; Goldberg 2021, "BitFit: Simple Parameter-efficient Fine-tuning for
/// Transformer-based Masked Language-models", §2: every weight is frozen and only the bias terms b (of
/// y = W x + b and of LayerNorm's γ ⊙ x̂ + b) are trained, beside the task head.
/// <para>
/// Which biases: those of the modules the targets match, of any kind (the targets must still match at least one
/// linear module), so "query,value" trains the Q and V biases (the EfficientFT-style comparison) and the pattern
/// ".*" trains every bias of the body — linear and LayerNorm alike — which is the paper's full BitFit. The trained count is therefore Σ out_features (or the normalised
/// width) over the matched modules that have a bias, plus the head. The base tensors are trained in place and
/// saved by their Hugging Face names, so there is nothing to merge.
/// </para>
/// </summary>
public sealed class BitFit : IPeftMethod
{
    private const string BiasSuffix = ".bias";

    public string Name => "bitfit";

    public bool UsesPeftKeys => false;

    public IReadOnlyList<PeftParameter> Apply(PretrainedModel model, IReadOnlyList<(string Path, Linear Layer)> targets, PeftOptions options)
    {
        var trained = new List<PeftParameter>();
        foreach (var (name, tensor) in model.NamedTensors())
        {
            if (!name.EndsWith(BiasSuffix, StringComparison.Ordinal)) continue;
            var path = name[..^BiasSuffix.Length];
            if (model.IsInHead(path) || !options.Targets.Matches(path)) continue;
            tensor.RequiresGrad = true;
            trained.Add(new PeftParameter(name, tensor, TargetSpec.RoleOf(path), "bias"));
        }
        if (trained.Count == 0)
            throw new ArgumentException($"{Name}: the targets match no module with a bias (LLaMA's projections have none).");
        return trained;
    }

    public JsonObject AdapterConfig(PeftOptions options, IReadOnlyList<string> targetModules, IReadOnlyList<string> modulesToSave, string? taskType) =>
        CustomMethodConfig.Build("EFT_BITFIT", options, targetModules, modulesToSave, taskType);
}
