using System.Text.Json.Nodes;
using EfficientFT.Models;
using EfficientFT.Models.Data;
using EfficientFT.Models.Nn;
using EfficientFT.Models.SafeTensors;
using EfficientFT.Peft;
using EfficientFT.Tensors;
using EfficientFT.Training.Optimizers;

namespace EfficientFT.Training.Tests;

/// <summary>
/// Each method against peft 0.15.1 on the golden cases: the trainable set, first logits and loss, every gradient,
/// the tensors after one AdamW step, the losses of three steps, the final logits, the merged weights and the saved
/// adapter. Random initialisations are taken from the fixture's adapter_init (and base_residual for PiSSA/OLoRA),
/// which the tests also check our own initialisation against where it is deterministic.
/// </summary>
public sealed class PeftTrajectoryTests
{
    private static string Case(string name) => Path.Combine(AppContext.BaseDirectory, "fixtures", "peft", name);

    public static TheoryData<string> Cases => new(
        "roberta_cls__lora", "roberta_cls__lora_qkv", "roberta_cls__rslora", "roberta_cls__dora", "roberta_cls__pissa",
        "roberta_cls__olora", "roberta_cls__full_ft", "roberta_cls__lambda", "roberta_cls__loraplus", "roberta_reg__lora",
        "llama_lm__lora", "llama_lm__dora", "llama_lm__pissa", "llama_cls__lora");

    private sealed record Setup(PeftModel Peft, ModelBatch Batch, JsonObject Case, Dictionary<string, Tensor> Expected);

    private static Setup Prepare(string caseName)
    {
        var dir = Case(caseName);
        var json = (JsonObject)JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "case.json")))!;
        var (model, _) = Pretrained.Load(Path.Combine(dir, "base"));
        var method = json["method"]!.GetValue<string>();
        PeftOptions options = json["peft_config"] is JsonObject peftConfig
            ? AdapterConfigReader.FromJson(peftConfig)
            : new PeftOptions { Method = method, Targets = TargetSpec.Parse("query,value") };
        var peft = PeftModel.Create(model, options);
        if (Directory.Exists(Path.Combine(dir, "base_residual")))
            Overwrite(model.NamedTensors(), SafeTensorsFile.LoadAll(Path.Combine(dir, "base_residual", "model.safetensors")));
        if (Directory.Exists(Path.Combine(dir, "adapter_init")))
            Overwrite(peft.Trainable.Select(p => (p.Name, p.Value)), SafeTensorsFile.LoadAll(Path.Combine(dir, "adapter_init", "adapter_model.safetensors")));
        var batch = JsonlBatchReader.Read(Path.Combine(dir, "batch.jsonl"), model.ModelConfig.PadTokenId ?? 0,
            SequenceClassification.IsRegression(model.ModelConfig));
        return new Setup(peft, batch, json, SafeTensorsFile.LoadAll(Path.Combine(dir, "expected.safetensors")));
    }

    private static void Overwrite(IEnumerable<(string Name, Tensor Value)> targets, Dictionary<string, Tensor> values)
    {
        foreach (var (name, tensor) in targets)
            if (values.TryGetValue(name, out var v)) tensor.CopyFrom(v.AsSpan());
    }

    private static IReadOnlyList<ParamGroup> Groups(Setup s) => s.Case["method"]!.GetValue<string>() switch
    {
        "lambda" => ParameterGroups.Build(s.Peft.Trainable, 1e-2, valueRatio: 4),
        "loraplus" => ParameterGroups.Build(s.Peft.Trainable, 1e-2, loraPlusRatio: 16),
        _ => ParameterGroups.Build(s.Peft.Trainable, 1e-2),
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void TrainableSet_MatchesPeft(string caseName)
    {
        var s = Prepare(caseName);
        FixtureCase.AssertTrainableSet(s.Case, s.Peft);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void LearningRates_MatchTheReferenceOptimizer(string caseName)
    {
        var s = Prepare(caseName);
        var groups = Groups(s);
        double RateOf(string name)
        {
            var tensor = s.Peft.Trainable.Single(p => p.Name == name).Value;
            return groups.Single(g => g.Tensors.Contains(tensor)).LearningRate;
        }
        foreach (var group in s.Case["optimizer"]!["param_groups"]!.AsArray())
        {
            var lr = group!["lr"]!.GetValue<double>();
            foreach (var name in group["params"]!.AsArray().Select(n => n!.GetValue<string>()))
                Assert.True(Math.Abs(RateOf(name) - lr) < 1e-12, $"{name}: lr {RateOf(name)}, expected {lr}");
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void ThreeAdamWSteps_FollowTheReference(string caseName)
    {
        var s = Prepare(caseName);
        var optimizer = new AdamW(Groups(s));
        var failures = FixtureCase.ThreeSteps(s.Peft, optimizer, s.Batch, s.Case, s.Expected);

        var dir = Case(caseName);
        if (Directory.Exists(Path.Combine(dir, "adapter_final")))
        {
            var saved = Directory.CreateTempSubdirectory("eft-adapter-").FullName;
            try
            {
                s.Peft.SaveAdapter(saved);
                var ours = SafeTensorsFile.LoadAll(Path.Combine(saved, "adapter_model.safetensors"));
                var theirs = SafeTensorsFile.LoadAll(Path.Combine(dir, "adapter_final", "adapter_model.safetensors"));
                Assert.Equal(theirs.Keys.Order(), ours.Keys.Order());
                // The same adapter_config.json peft wrote (what peft's from_pretrained reads), key for key, except
                // modules_to_save: peft's reads [classifier, classifier, score] because the origin project passed
                // [classifier, score] and peft appends the SEQ_CLS head again; ours names the model's head once.
                var ourConfig = JsonNode.Parse(File.ReadAllText(Path.Combine(saved, "adapter_config.json")))!;
                var theirConfig = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "adapter_final", "adapter_config.json")))!;
                theirConfig["modules_to_save"] = ourConfig["modules_to_save"]?.DeepClone();
                Assert.True(JsonNode.DeepEquals(theirConfig, ourConfig), $"adapter_config.json differs:\n{ourConfig}\nvs\n{theirConfig}");
                foreach (var (name, tensor) in theirs) failures.Add(FixtureCase.Compare("adapter_final." + name, ours[name], tensor, FixtureCase.Tolerance(s.Case, "logits_final")));
            }
            finally
            {
                Directory.Delete(saved, recursive: true);
            }
        }
        if (File.Exists(Path.Combine(dir, "merged", "model.safetensors")))
        {
            var merged = s.Peft.MergeAndUnload().NamedTensors().ToDictionary(p => p.Name, p => p.Value);
            foreach (var (name, tensor) in SafeTensorsFile.LoadAll(Path.Combine(dir, "merged", "model.safetensors")))
                failures.Add(FixtureCase.Compare("merged." + name, merged[name], tensor, (1e-5, 1e-6)));
        }
        var problems = failures.Where(f => f != null).ToArray();
        Assert.True(problems.Length == 0, string.Join("\n", problems));
    }
}
