using System.Text.Json.Nodes;
using EfficientFT.Models;
using EfficientFT.Models.Nn;
using EfficientFT.Tensors;

namespace EfficientFT.Peft.Methods;

/// <summary>
/// SSL, "Scaling the Subspace of the Left singular vectors", Si, Yang &amp; Shen 2024 (arXiv 2407.05417): Ŵ = D₁W
/// in the paper's x·W convention, i.e. in torch's (out, in) storage W' = W·diag(l) with l ∈ ℝ^in starting at ones
/// (Subspace-Tuning loralib layers_SSL.py). Saved as "{module}.lora" [in, 1] by its Hugging Face name.
/// </summary>
public sealed class Ssl : IPeftMethod
{
    public string Name => "ssl";

    public bool UsesPeftKeys => false;

    public IReadOnlyList<PeftParameter> Apply(PretrainedModel model, IReadOnlyList<(string Path, Linear Layer)> targets, PeftOptions options)
    {
        var trained = new List<PeftParameter>();
        foreach (var (path, layer) in targets)
        {
            var scale = Tensor.Parameter(Tensor.Ones(layer.InFeatures, 1));
            layer.Adapter = new SubspaceScaleAdapter(scale, null);
            trained.Add(new PeftParameter(path + ".lora", scale, TargetSpec.RoleOf(path), "lora"));
        }
        return trained;
    }

    public JsonObject AdapterConfig(PeftOptions options, IReadOnlyList<string> targetModules, IReadOnlyList<string> modulesToSave, string? taskType) =>
        CustomMethodConfig.Build("EFT_SSL", options, targetModules, modulesToSave, taskType);
}
