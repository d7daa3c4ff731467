using System.CommandLine;
using EfficientFT.Models;
using EfficientFT.Models.Hub;
using EfficientFT.Peft;

namespace EfficientFT.Cli.Commands;

/// <summary>`merge`: fold an adapter into its base model and write a plain Hugging Face checkpoint.</summary>
public static class MergeCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "Base model directory, or a repository id (org/name, or a canonical name) in the Hugging Face cache.", Required = true };
        var adapter = new Option<string>("--adapter") { Description = "Adapter directory (peft layout).", Required = true };
        var output = new Option<string>("--out") { Description = "Directory for the merged config.json + model.safetensors.", Required = true };
        var command = new Command("merge", "Merge an adapter into its base model and save a plain checkpoint.") { model, adapter, output };
        command.SetAction(r => CommandErrors.Run(() =>
        {
            var (baseModel, loaded) = BaseModel.Load(ModelLocation.Resolve(r.GetValue(model)!), r.GetValue(adapter)!);
            var peft = loaded!;
            Pretrained.Save(peft.MergeAndUnload(), r.GetValue(output)!);
            Console.WriteLine($"merged {peft.Method.Name} ({peft.Targets.Count} modules) into {baseModel.Architecture}; wrote {r.GetValue(output)}");
            return 0;
        }));
        return command;
    }
}
