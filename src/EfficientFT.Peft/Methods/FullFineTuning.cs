using System.Text.Json.Nodes;
using EfficientFT.Models;
using EfficientFT.Models.Nn;

namespace EfficientFT.Peft.Methods;

/// <summary>Full fine-tuning of the targeted projections' weights and biases (the baseline every method is measured against).</summary>
public sealed class FullFineTuning : IPeftMethod
{
    public string Name => "full_ft";

    public bool UsesPeftKeys => false;

    public IReadOnlyList<PeftParameter> Apply(PretrainedModel model, IReadOnlyList<(string Path, Linear Layer)> targets, PeftOptions options)
    {
        var trained = new List<PeftParameter>();
        foreach (var (path, layer) in targets)
        {
            var role = TargetSpec.RoleOf(path);
            layer.Weight.RequiresGrad = true;
            trained.Add(new PeftParameter(path + ".weight", layer.Weight, role, "weight"));
            if (layer.Bias == null) continue;
            layer.Bias.RequiresGrad = true;
            trained.Add(new PeftParameter(path + ".bias", layer.Bias, role, "bias"));
        }
        return trained;
    }

    public JsonObject AdapterConfig(PeftOptions options, IReadOnlyList<string> targetModules, IReadOnlyList<string> modulesToSave, string? taskType) =>
        CustomMethodConfig.Build("EFT_FULL_FT", options, targetModules, modulesToSave, taskType);
}
