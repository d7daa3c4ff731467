using System.CommandLine;
using EfficientFT.Models.Configs;
using EfficientFT.Models.Roberta;
using EfficientFT.Peft;
using Spectre.Console;

namespace EfficientFT.Cli.Commands;

/// <summary>
/// `methods`: every registered method with what it trains and the options that shape it; with --count, the trainable
/// parameters of each on roberta-base shapes (query,value, r = 8), the comparison of the origin project's Table 2.
/// </summary>
public static class MethodsCommand
{
    /// <summary>One line per registry name; a test keeps it complete.</summary>
    public static IReadOnlyDictionary<string, string> Descriptions { get; } = new Dictionary<string, string>
    {
        ["full_ft"] = "full fine-tuning of the targets' weights and biases",
        ["lora"] = "W x + (α/r)·B A x; A ~ U(±1/√in), B = 0. --rank --alpha --dropout",
        ["loraplus"] = "LoRA with lora_B (and 1-D tensors) at ratio·lr. --loraplus-ratio (16)",
        ["rslora"] = "LoRA scaled α/√r. --rank --alpha",
        ["dora"] = "magnitude · (W + s·BA)/‖W + s·BA‖, the norm detached. --rank --alpha",
        ["pissa"] = "LoRA from the top-r SVD of W; W keeps the residual. --rank --alpha",
        ["olora"] = "LoRA from the thin QR of W; W keeps the residual. --rank --alpha",
        ["eva"] = "LoRA whose A comes from the SVD of layer inputs (needs init batches; without them plain LoRA)",
        ["adalora"] = "P·Λ·Q with rank allocation from init to target rank. --adalora-init-r (1.5·r) --rank (target)",
        ["sift"] = "sparse increments: top --sparse-rate (0.2) entries by |gradient| at step 1 train",
        ["galore"] = "AdamW on rank-r projections of the weights' gradients. --rank --galore-gap (200) --galore-scale (0.25)",
        ["ssl"] = "W·diag(l), l = 1 at init (input-side subspace scaling)",
        ["ssb"] = "diag(l_out)·W·diag(l_in), ones at init",
        ["ia3"] = "learned scaling vectors (IA)³ on key/value outputs and feed-forward inputs",
        ["vera"] = "shared frozen random A, B with trained per-layer scaling vectors λ_b, λ_d. --rank",
        ["bitfit"] = "only the targets' biases",
        ["rslora+dora"] = "DoRA scaled α/√r (peft: use_rslora and use_dora)",
        ["pissa+rslora"] = "PiSSA scaled α/√r (init_lora_weights pissa, use_rslora)",
        ["pissa+dora"] = "PiSSA with DoRA's magnitude, from ‖W‖ (init_lora_weights pissa, use_dora)",
        ["pissa+rslora+dora"] = "PiSSA scaled α/√r with DoRA's magnitude",
        ["olora+rslora"] = "OLoRA scaled α/√r (init_lora_weights olora, use_rslora)",
        ["olora+dora"] = "OLoRA with DoRA's magnitude, from ‖W‖ (init_lora_weights olora, use_dora)",
        ["olora+rslora+dora"] = "OLoRA scaled α/√r with DoRA's magnitude",
        ["eva+rslora"] = "EVA scaled α/√r (init_lora_weights eva, use_rslora)",
        ["eva+dora"] = "EVA with DoRA's magnitude (init_lora_weights eva, use_dora)",
        ["eva+rslora+dora"] = "EVA scaled α/√r with DoRA's magnitude",
    };

    public static Command Create()
    {
        var count = new Option<bool>("--count") { Description = "Also count trainable parameters on roberta-base shapes (query,value, r = 8; allocates the model once per method)." };
        var command = new Command("methods", "List the fine-tuning methods, their options and defaults.") { count };
        command.SetAction(r => CommandErrors.Run(() =>
        {
            var table = new Table().AddColumns("method", "what it trains");
            if (r.GetValue(count)) table.AddColumn("trainable on roberta-base (q,v, r=8, + head)");
            foreach (var name in PeftMethods.Registry.Keys)
            {
                var cells = new List<string> { name, Markup.Escape(Descriptions.GetValueOrDefault(name, "")) };
                if (r.GetValue(count)) cells.Add(CountOnRobertaBase(name).ToString("N0"));
                table.AddRow(cells.ToArray());
            }
            AnsiConsole.Write(table);
            AnsiConsole.MarkupLine("Shared options: --targets (q,v | query,value,… | --target-pattern REGEX | --layers N …), --lr-ratio v=λ, --mpc KIND:COEF, --seed.");
            return 0;
        }));
        return command;
    }

    /// <summary>Trainable parameters of <paramref name="method"/> on a roberta-base classifier (zero weights; counts only).</summary>
    public static long CountOnRobertaBase(string method)
    {
        var model = new RobertaForSequenceClassification(RobertaConfig.Default() with { VocabSize = 50265, MaxPositionEmbeddings = 514, TypeVocabSize = 1 });
        var peft = PeftModel.Create(model, new PeftOptions
        {
            Method = method,
            Targets = TargetSpec.Parse("query,value"),
            Rank = 8,
            Alpha = 16,
            AdaLora = method == "adalora" ? new AdaLoraOptions { InitR = 12, TargetR = 8, TotalStep = 1000 } : null,
        });
        return peft.TrainableCount;
    }
}
