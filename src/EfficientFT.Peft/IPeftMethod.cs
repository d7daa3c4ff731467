using System.Text.Json.Nodes;
using EfficientFT.Models;
using EfficientFT.Models.Nn;

namespace EfficientFT.Peft;

/// <summary>
/// A parameter-efficient method: it installs itself on the selected linear modules of a model and says which tensors
/// it trains. Everything else (the head, optimizer groups, saving) is shared.
/// </summary>
public interface IPeftMethod
{
    /// <summary>The registry name ("lora", "dora", …).</summary>
    string Name { get; }

    /// <summary>
    /// True when the method's tensors are saved in peft's layout ("base_model.model." + module path + suffix) and the
    /// head under the same prefix; false for methods that train base tensors in place (saved by their own names).
    /// </summary>
    bool UsesPeftKeys { get; }

    /// <summary>Installs the method on <paramref name="targets"/> and returns the tensors it trains, in module order.</summary>
    IReadOnlyList<PeftParameter> Apply(PretrainedModel model, IReadOnlyList<(string Path, Linear Layer)> targets, PeftOptions options);

    /// <summary>
    /// Frozen tensors that belong to the adapter rather than the base model and are saved with it (VeRA's shared
    /// projections), known once <see cref="Apply"/> has run.
    /// </summary>
    IReadOnlyList<PeftParameter> Buffers => [];

    /// <summary>adapter_config.json for this method's options, keys and values as peft writes them.</summary>
    JsonObject AdapterConfig(PeftOptions options, IReadOnlyList<string> targetModules, IReadOnlyList<string> modulesToSave, string? taskType);
}
