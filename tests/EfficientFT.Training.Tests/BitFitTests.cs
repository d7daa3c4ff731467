using System.Text.Json.Nodes;
using EfficientFT.Models;
using EfficientFT.Models.Data;
using EfficientFT.Models.Nn;
using EfficientFT.Models.SafeTensors;
using EfficientFT.Peft;
using EfficientFT.Training.Optimizers;

namespace EfficientFT.Training.Tests;

/// <summary>
/// BitFit has no reference run, so it is checked against what it must be: only biases (and the head) receive
/// gradients, those gradients are the base model's (the roberta_cls__base case has every parameter's), one AdamW
/// step moves nothing else, and the trained count is Σ bias widths of the matched modules plus the head.
/// </summary>
public sealed class BitFitTests
{
    private const string BaseCase = "roberta_cls__base";

    /// <summary>classifier.dense (32·32 + 32) and out_proj (3·32 + 3).</summary>
    private const long HeadCount = 32 * 32 + 32 + 3 * 32 + 3;

    private static string Case(string name) => Path.Combine(AppContext.BaseDirectory, "fixtures", "peft", name);

    private static (PeftModel Peft, ModelBatch Batch) Create(TargetSpec targets)
    {
        var model = Pretrained.Load(Path.Combine(Case(BaseCase), "base")).Model;
        var batch = JsonlBatchReader.Read(Path.Combine(Case(BaseCase), "batch.jsonl"), model.ModelConfig.PadTokenId ?? 0, regression: false);
        return (PeftModel.Create(model, new PeftOptions { Method = "bitfit", Targets = targets }), batch);
    }

    public static TheoryData<string?, string?, long> Selections => new()
    {
        // Q and V biases of two layers: 2 · 2 · 32.
        { "query,value", null, 2 * 2 * 32 },
        // Every bias of the body: per layer q, k, v, attention output (4 · 32), intermediate 64, output 32 and two
        // LayerNorms (2 · 32); plus the embeddings' LayerNorm.
        { null, ".*", 2 * (4 * 32 + 64 + 32 + 2 * 32) + 32 },
    };

    [Theory]
    [MemberData(nameof(Selections))]
    public void TrainsOnlyTheSelectedBiases_WithTheBaseModelsGradients(string? modules, string? pattern, long biasCount)
    {
        var (peft, batch) = Create(pattern == null ? TargetSpec.Parse(modules!) : new TargetSpec([], pattern));
        Assert.Equal(biasCount + HeadCount, peft.TrainableCount);
        Assert.All(peft.Trainable.Where(p => p.Kind != "head"), p => Assert.EndsWith(".bias", p.Name));

        var before = peft.Model.NamedTensors().ToDictionary(p => p.Name, p => p.Value.ToArray());
        var output = peft.Forward(batch, ForwardContext.Inference);
        output.Loss!.Backward();
        var trained = peft.Trainable.Select(p => p.Name).ToHashSet();
        var expected = SafeTensorsFile.LoadAll(Path.Combine(Case(BaseCase), "expected.safetensors"));
        var tolerance = CaseTolerance();
        foreach (var (name, tensor) in peft.Model.NamedTensors())
        {
            if (!trained.Contains(name))
            {
                Assert.True(tensor.Grad == null, $"{name} is frozen but received a gradient");
                continue;
            }
            var g = tensor.Grad!.ToArray();
            var e = expected["grad." + name].ToArray();
            var worst = g.Zip(e, (a, b) => Math.Abs(a - b)).Max();
            Assert.True(worst <= tolerance.Atol + tolerance.Rtol * e.Max(Math.Abs), $"grad.{name}: max |diff| {worst:G3}");
        }

        var optimizer = new AdamW(ParameterGroups.Build(peft.Trainable, 1e-2));
        optimizer.Step();
        foreach (var (name, tensor) in peft.Model.NamedTensors())
        {
            if (trained.Contains(name)) Assert.NotEqual(before[name], tensor.ToArray());
            else Assert.Equal(before[name], tensor.ToArray());
        }
    }

    private static (double Rtol, double Atol) CaseTolerance()
    {
        var json = (JsonObject)JsonNode.Parse(File.ReadAllText(Path.Combine(Case(BaseCase), "case.json")))!;
        var t = json["tolerances"]!["recommended"]!["grad"]!;
        return (t["rtol"]!.GetValue<double>(), t["atol"]!.GetValue<double>());
    }

    [Fact]
    public void SavedBiases_ReloadOntoAFreshModel()
    {
        var (peft, batch) = Create(TargetSpec.Parse("query,value"));
        var optimizer = new AdamW(ParameterGroups.Build(peft.Trainable, 1e-2));
        peft.Forward(batch, ForwardContext.Inference).Loss!.Backward();
        optimizer.Step();
        var saved = Directory.CreateTempSubdirectory("eft-bitfit-").FullName;
        try
        {
            peft.SaveAdapter(saved);
            var reloaded = PeftModel.LoadAdapter(Pretrained.Load(Path.Combine(Case(BaseCase), "base")).Model, saved);
            Assert.Equal("bitfit", reloaded.Method.Name);
            Assert.Equal(peft.Trainable.Select(p => p.Name), reloaded.Trainable.Select(p => p.Name));
            foreach (var (ours, theirs) in peft.Trainable.Zip(reloaded.Trainable)) Assert.Equal(ours.Value.ToArray(), theirs.Value.ToArray());
        }
        finally
        {
            Directory.Delete(saved, recursive: true);
        }
    }

    [Fact]
    public void ModelsWithoutBiases_AreRefused()
    {
        var model = Pretrained.Load(Path.Combine(Case("llama_lm__base"), "base")).Model;
        var e = Assert.Throws<ArgumentException>(() => PeftModel.Create(model, new PeftOptions { Method = "bitfit", Targets = TargetSpec.Parse("q,v") }));
        Assert.Contains("no module with a bias", e.Message);
    }
}
