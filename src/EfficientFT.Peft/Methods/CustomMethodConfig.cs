using System.Text.Json.Nodes;

namespace EfficientFT.Peft.Methods;

/// <summary>
/// adapter_config.json for methods peft does not have (peft_type "EFT_…"): their type, targets and head, which is
/// all <see cref="AdapterConfigReader"/> needs to install them again.
/// </summary>
internal static class CustomMethodConfig
{
    public static JsonObject Build(string type, PeftOptions options, IReadOnlyList<string> targetModules, IReadOnlyList<string> modulesToSave, string? taskType) => new()
    {
        ["peft_type"] = type,
        ["target_modules"] = options.Targets.Pattern is { } pattern ? pattern : new JsonArray(targetModules.Select(m => (JsonNode?)m).ToArray()),
        ["layers_to_transform"] = options.Targets.Layers == null ? null : new JsonArray(options.Targets.Layers.Select(l => (JsonNode?)l).ToArray()),
        ["modules_to_save"] = new JsonArray(modulesToSave.Select(m => (JsonNode?)m).ToArray()),
        ["task_type"] = taskType,
    };
}
