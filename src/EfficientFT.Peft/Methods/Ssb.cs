using System.Text.Json.Nodes;
using EfficientFT.Models;
using EfficientFT.Models.Nn;
using EfficientFT.Tensors;

namespace EfficientFT.Peft.Methods;

/// <summary>
/// SSB, "Scaling the Subspace of Both sides", Si, Yang &amp; Shen 2024 (arXiv 2407.05417), Eq. 10: Ŵ = D₁WD₂, in
/// torch's (out, in) storage W' = diag(l_out)·W·diag(l_in), both vectors starting at ones (Subspace-Tuning loralib
/// layers_SSB.py). Saved by Hugging Face name as "{module}.lora_row" [in, 1] and "{module}.lora" [out, 1].
/// </summary>
public sealed class Ssb : IPeftMethod
{
    public string Name => "ssb";

    public bool UsesPeftKeys => false;

    public IReadOnlyList<PeftParameter> Apply(PretrainedModel model, IReadOnlyList<(string Path, Linear Layer)> targets, PeftOptions options)
    {
        var trained = new List<PeftParameter>();
        foreach (var (path, layer) in targets)
        {
            var inScale = Tensor.Parameter(Tensor.Ones(layer.InFeatures, 1));
            var outScale = Tensor.Parameter(Tensor.Ones(layer.OutFeatures, 1));
            layer.Adapter = new SubspaceScaleAdapter(inScale, outScale);
            var role = TargetSpec.RoleOf(path);
            trained.Add(new PeftParameter(path + ".lora_row", inScale, role, "lora_row"));
            trained.Add(new PeftParameter(path + ".lora", outScale, role, "lora"));
        }
        return trained;
    }

    public JsonObject AdapterConfig(PeftOptions options, IReadOnlyList<string> targetModules, IReadOnlyList<string> modulesToSave, string? taskType) =>
        CustomMethodConfig.Build("EFT_SSB", options, targetModules, modulesToSave, taskType);
}
