using System.CommandLine;
using EfficientFT.Models;
using EfficientFT.Models.Configs;
using EfficientFT.Models.Hub;
using EfficientFT.Models.SafeTensors;
using Spectre.Console;

namespace EfficientFT.Cli.Commands;

/// <summary>`inspect PATH`: a checkpoint's architecture, parameter count and tensor list.</summary>
public static class InspectCommand
{
    public static Command Create()
    {
        var path = new Argument<string>("path") { Description = "A model directory (config.json + safetensors), a repository id in the Hugging Face cache, a .safetensors file or a model.safetensors.index.json." };
        var command = new Command("inspect", "Print a checkpoint's architecture, parameter count and tensors.") { path };
        command.SetAction(r => CommandErrors.Run(() => Run(r.GetValue(path)!)));
        return command;
    }

    private static int Run(string path)
    {
        if (!File.Exists(path)) path = ModelLocation.Resolve(path);
        var directory = Directory.Exists(path) ? path : Path.GetDirectoryName(Path.GetFullPath(path))!;
        var configPath = Path.Combine(directory, "config.json");
        if (File.Exists(configPath))
        {
            // From the config alone: building the model would allocate every weight (32 GB for an 8B checkpoint).
            // A config this library cannot build from still leaves the tensors worth listing.
            try
            {
                var config = ModelConfig.Load(configPath);
                // The checkpoint's own architecture, and the one this library would build where that differs
                // (MistralForCausalLM is read as LlamaForCausalLM).
                var builds = Pretrained.ArchitectureOf(config);
                var named = config.Architectures.FirstOrDefault() ?? builds;
                var architecture = named == builds ? named : $"{named} (read as {builds})";
                AnsiConsole.MarkupLine($"[bold]{Markup.Escape(architecture)}[/] ({Markup.Escape(config.ModelType)}): " +
                                       $"{config.NumHiddenLayers} layers, hidden {config.HiddenSize}, {config.NumAttentionHeads} heads, vocab {config.VocabSize}");
            }
            catch (ModelConfigException e)
            {
                Console.Error.WriteLine($"eft: note: {e.Message}");
            }
        }
        using var checkpoint = SafeTensorsCheckpoint.Open(path);
        var table = new Table().AddColumns("tensor", "dtype", "shape", "parameters");
        long total = 0;
        foreach (var name in checkpoint.Names)
        {
            var info = checkpoint.GetInfo(name);
            total += info.ElementCount;
            table.AddRow(Markup.Escape(name), info.DType.ToString(), Markup.Escape("[" + string.Join(", ", info.Shape) + "]"), info.ElementCount.ToString("N0"));
        }
        AnsiConsole.Write(table);
        AnsiConsole.MarkupLine($"{checkpoint.Names.Count} tensors, [bold]{total:N0}[/] parameters");
        return 0;
    }
}
