using System.Text.Json.Nodes;
using EfficientFT.Models.SafeTensors;

namespace EfficientFT.Cli.Tests;

/// <summary>Checkpoints made from a golden case's base for the commands that start from one.</summary>
internal static class Bodies
{
    /// <summary>
    /// A copy of <paramref name="caseDir"/>'s base under <paramref name="parent"/>, saved as
    /// <paramref name="architecture"/>, with or without the classifier's tensors: a body saved with another head (its
    /// labels then unnamed, as a masked LM's config has none), or a classifier whose head was never saved.
    /// </summary>
    public static string Copy(string caseDir, string parent, string architecture, bool withHead)
    {
        var dir = Directory.CreateDirectory(Path.Combine(parent, $"base-{architecture}-{withHead}")).FullName;
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(caseDir, "base", "config.json")))!.AsObject();
        config["architectures"] = new JsonArray(architecture);
        if (!architecture.EndsWith("ForSequenceClassification", StringComparison.Ordinal))
        {
            config.Remove("id2label");
            config.Remove("label2id");
        }
        File.WriteAllText(Path.Combine(dir, "config.json"), config.ToJsonString());
        var weights = SafeTensorsFile.LoadAll(Path.Combine(caseDir, "base", "model.safetensors"));
        SafeTensorsWriter.Save(Path.Combine(dir, "model.safetensors"), weights.Where(w => withHead || !w.Key.StartsWith("classifier.", StringComparison.Ordinal)));
        return dir;
    }
}
