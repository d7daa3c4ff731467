using System.Text.Json.Nodes;
using EfficientFT.Models;
using EfficientFT.Models.Nn;

namespace EfficientFT.Peft.Methods;

/// <summary>
/// GaLore (Zhao et al. 2024, "GaLore: Memory-Efficient LLM Training by Gradient Low-Rank Projection") trains the
/// targeted weights at full rank; what it saves is optimizer memory, because Adam's moments live in a rank-r
/// projection of each weight's gradient (Algorithm 2; GaLoreAdamW in EfficientFT.Training). So this side only unfreezes
/// the target weights and tags them <see cref="Kind"/>, which is how the optimizer knows to project them. Biases stay
/// frozen: the reference runs put only the 2-D weights in GaLore's group and never list the biases.
/// </summary>
public sealed class GaLore : IPeftMethod
{
    /// <summary>The <see cref="PeftParameter.Kind"/> of the weights GaLore's optimizer projects.</summary>
    public const string Kind = "galore";

    public string Name => "galore";

    public bool UsesPeftKeys => false;

    public IReadOnlyList<PeftParameter> Apply(PretrainedModel model, IReadOnlyList<(string Path, Linear Layer)> targets, PeftOptions options)
    {
        var trained = new List<PeftParameter>();
        foreach (var (path, layer) in targets)
        {
            layer.Weight.RequiresGrad = true;
            trained.Add(new PeftParameter(path + ".weight", layer.Weight, TargetSpec.RoleOf(path), Kind));
        }
        return trained;
    }

    public JsonObject AdapterConfig(PeftOptions options, IReadOnlyList<string> targetModules, IReadOnlyList<string> modulesToSave, string? taskType) =>
        CustomMethodConfig.Build("EFT_GALORE", options, targetModules, modulesToSave, taskType);
}
