using System.CommandLine;
using EfficientFT.Models;
using EfficientFT.Models.Configs;
using EfficientFT.Models.Data;
using EfficientFT.Models.Hub;
using EfficientFT.Models.Nn;
using EfficientFT.Models.SafeTensors;
using EfficientFT.Peft;
using EfficientFT.Tensors;
using EfficientFT.Tensors.Autograd;

namespace EfficientFT.Cli.Commands;

/// <summary>
/// `forward`: logits and loss of a checkpoint on pre-tokenized rows, written as safetensors — how a user checks a
/// checkpoint against Python.
/// </summary>
public static class ForwardCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "Model directory (config.json + model.safetensors), or a repository id (org/name, or a canonical name) in the Hugging Face cache.", Required = true };
        var data = new Option<string>("--data") { Description = "JSONL rows: input_ids, attention_mask, label or labels.", Required = true };
        var output = new Option<string>("--out") { Description = "Output .safetensors with tensors 'logits' and 'loss'.", Required = true };
        var adapter = new Option<string?>("--adapter") { Description = "Adapter directory (adapter_config.json + adapter_model.safetensors, peft layout) to apply first." };
        var command = new Command("forward", "Run a checkpoint on pre-tokenized rows and write logits and loss.") { model, data, output, adapter };
        command.SetAction(r => CommandErrors.Run(() => Run(r.GetValue(model)!, r.GetValue(data)!, r.GetValue(output)!, r.GetValue(adapter))));
        return command;
    }

    private static int Run(string modelDir, string dataPath, string outPath, string? adapterDir)
    {
        modelDir = ModelLocation.Resolve(modelDir);
        var (model, peft) = BaseModel.Load(modelDir, adapterDir);
        if (peft != null)
            Console.Error.WriteLine($"eft: adapter {peft.Method.Name} on {peft.Targets.Count} modules, {peft.TrainableCount:N0} parameters");
        var batch = JsonlBatchReader.Read(dataPath, model.ModelConfig);
        // Labels of another kind than the model's loss reads ("labels" per token for a classifier) would otherwise be
        // dropped without a word, and the output would have no loss.
        if (batch is not { ClassLabels: null, RegressionLabels: null, MultiHotLabels: null, TokenLabels: null })
        {
            try
            {
                model.LossItems(batch);
            }
            catch (InvalidDataException e)
            {
                throw new InvalidDataException($"{dataPath}: {e.Message} Its labels are of another kind.", e);
            }
        }
        ModelOutput result;
        using (GradMode.NoGrad()) result = model.Forward(batch, ForwardContext.Inference);
        var tensors = new List<KeyValuePair<string, Tensor>> { new("logits", result.Logits) };
        if (result.Loss != null) tensors.Add(new("loss", result.Loss.Reshape(1)));
        SafeTensorsWriter.Save(outPath, tensors);
        Console.WriteLine($"{model.Architecture}: {batch.Batch} rows × {batch.Length} tokens → logits {Shapes.Format(result.Logits.Shape)}" +
                          (result.Loss != null ? $", loss {result.Loss.Item():G6}" : ", no labels so no loss") + $"; wrote {outPath}");
        return 0;
    }
}
