using System.Text.Json;
using System.Text.Json.Nodes;
using EfficientFT.Models;
using EfficientFT.Models.Data;
using EfficientFT.Models.Nn;
using EfficientFT.Models.SafeTensors;
using EfficientFT.Peft;
using EfficientFT.Peft.Methods;
using EfficientFT.Tensors;
using EfficientFT.Tensors.Autograd;
using EfficientFT.Training.Optimizers;
using Xunit.Abstractions;

namespace EfficientFT.Training.Tests;

/// <summary>
/// AdaLoRA against peft 0.15.1 on the golden cases, with the loop peft's documentation asks for and the reference
/// generator ran: forward, loss + orthogonal regularizer, backward, AdamW step, update_and_allocate(k), zero_grad.
/// The random A and B come from the fixture's adapter_init. Checked: the trainable set, the saved configs, the first
/// logits, each step's task loss, regularizer and total, every gradient, the tensors after step 1 (masked by the
/// allocator), the full-rank tensors after step 3, the final rank pattern, the final logits, the rank-truncated saved
/// adapter, the merged weights, and that peft's truncated adapter loads back to the same logits.
/// </summary>
public sealed class AdaLoraTrajectoryTests(ITestOutputHelper output)
{
    public static TheoryData<string> Cases => new("roberta_cls__adalora", "llama_lm__adalora");

    private static string Case(string name) => Path.Combine(AppContext.BaseDirectory, "fixtures", "peft", name);

    private sealed record Setup(PeftModel Peft, AdaLora Method, ModelBatch Batch, JsonObject Case, Dictionary<string, Tensor> Expected);

    private static JsonObject ReadJson(string path) => (JsonObject)JsonNode.Parse(File.ReadAllText(path))!;

    private static Setup Prepare(string caseName)
    {
        var dir = Case(caseName);
        var json = ReadJson(Path.Combine(dir, "case.json"));
        var (model, _) = Pretrained.Load(Path.Combine(dir, "base"));
        var peft = PeftModel.Create(model, AdapterConfigReader.FromJson((JsonObject)json["peft_config"]!));
        var init = SafeTensorsFile.LoadAll(Path.Combine(dir, "adapter_init", "adapter_model.safetensors"));
        foreach (var p in peft.Trainable) p.Value.CopyFrom(init[p.Name].AsSpan());
        var batch = JsonlBatchReader.Read(Path.Combine(dir, "batch.jsonl"), model.ModelConfig.PadTokenId ?? 0,
            SequenceClassification.IsRegression(model.ModelConfig));
        return new Setup(peft, (AdaLora)peft.Method, batch, json, SafeTensorsFile.LoadAll(Path.Combine(dir, "expected.safetensors")));
    }

    /// <summary>The fixture rule: max|actual − expected| ≤ atol + rtol·max|expected|; null when it holds.</summary>
    private static string? Compare(string name, Tensor actual, Tensor expected, (double Rtol, double Atol) tol, List<(string, double)>? log = null)
    {
        var a = actual.ToArray();
        var e = expected.ToArray();
        if (a.Length != e.Length) return $"{name}: {a.Length} elements, expected {e.Length}";
        double worst = 0, scale = 0;
        for (var i = 0; i < a.Length; i++)
        {
            worst = Math.Max(worst, Math.Abs(a[i] - e[i]));
            scale = Math.Max(scale, Math.Abs(e[i]));
        }
        log?.Add((name, worst));
        return worst <= tol.Atol + tol.Rtol * scale ? null : $"{name}: max |diff| {worst:G3} > {tol.Atol:G2} + {tol.Rtol:G2}·{scale:G3}";
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void TrainableSet_MatchesPeft(string caseName)
    {
        var s = Prepare(caseName);
        FixtureCase.AssertTrainableSet(s.Case, s.Peft);
        var groups = s.Case["optimizer"]!["param_groups"]!.AsArray();
        Assert.Single(groups);
        Assert.Equal(1e-2, groups[0]!["lr"]!.GetValue<double>());
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void SavedAtInit_IsPeftsAdapterInit(string caseName)
    {
        var s = Prepare(caseName);
        var saved = Directory.CreateTempSubdirectory("eft-adalora-").FullName;
        try
        {
            s.Peft.SaveAdapter(saved);
            var dir = Path.Combine(Case(caseName), "adapter_init");
            AssertSameConfig(ReadJson(Path.Combine(dir, "adapter_config.json")), ReadJson(Path.Combine(saved, "adapter_config.json")), s.Peft.Model);
            var theirs = SafeTensorsFile.LoadAll(Path.Combine(dir, "adapter_model.safetensors"));
            var ours = SafeTensorsFile.LoadAll(Path.Combine(saved, "adapter_model.safetensors"));
            Assert.Equal(theirs.Keys.Order(), ours.Keys.Order());
            foreach (var (name, tensor) in theirs) Assert.Equal(tensor.ToArray(), ours[name].ToArray());
        }
        finally
        {
            Directory.Delete(saved, recursive: true);
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void ThreeStepsWithTheAllocator_FollowTheReference(string caseName)
    {
        var s = Prepare(caseName);
        var optimizer = new AdamW(ParameterGroups.Build(s.Peft.Trainable, 1e-2));
        var failures = new List<string?>();
        var diffs = new List<(string, double)>();
        string? Check(string name, Tensor actual, string group) =>
            Compare(name, actual, s.Expected[name], FixtureCase.Tolerance(s.Case, group), diffs);

        for (var step = 1; step <= 3; step++)
        {
            var result = s.Peft.Forward(s.Batch, ForwardContext.Inference);
            var loss = result.Loss! + s.Peft.LossTerm()!;
            using (GradMode.NoGrad())
                failures.Add(Compare($"orth_reg_step_{step}", s.Method.OrthogonalRegularizer(), s.Expected[$"orth_reg_step_{step}"], FixtureCase.Tolerance(s.Case, "loss"), diffs));
            failures.Add(Compare($"task_loss_step_{step}", result.Loss!, s.Expected[$"task_loss_step_{step}"], FixtureCase.Tolerance(s.Case, "loss"), diffs));
            failures.Add(Compare($"loss_step_{step}", loss, s.Expected[$"loss_step_{step}"], FixtureCase.Tolerance(s.Case, "loss"), diffs));
            loss.Backward();
            if (step == 1)
            {
                failures.Add(Check("logits_init", result.Logits, "logits_init"));
                foreach (var p in s.Peft.Trainable) failures.Add(Check("grad." + p.Name, p.Value.Grad!, "grad"));
            }
            optimizer.Step();
            s.Peft.AfterOptimizerStep(step);
            if (step == 1)
                foreach (var p in s.Peft.Trainable) failures.Add(Check("param_step_1." + p.Name, p.Value, "param_step_1"));
            optimizer.ZeroGrad();
        }
        foreach (var p in s.Peft.Trainable) failures.Add(Check("param_final." + p.Name, p.Value, "param_final"));
        using (GradMode.NoGrad())
            failures.Add(Check("logits_final", s.Peft.Forward(s.Batch, ForwardContext.Inference).Logits, "logits_final"));

        var expectedPattern = s.Case["adalora_rank_pattern_final"]!.AsObject().ToDictionary(
            p => p.Key[..^".lora_E.default".Length], p => p.Value!.AsArray().Select(k => k!.GetValue<bool>()).ToArray());
        var pattern = s.Method.Allocator!.RankPattern!;
        Assert.Equal(expectedPattern.Keys, pattern.Keys);
        foreach (var (path, kept) in expectedPattern) Assert.True(kept.SequenceEqual(pattern[path]), $"rank pattern of {path}");

        var dir = Case(caseName);
        var saved = Directory.CreateTempSubdirectory("eft-adalora-").FullName;
        try
        {
            s.Peft.SaveAdapter(saved);
            AssertSameConfig(ReadJson(Path.Combine(dir, "adapter_final", "adapter_config.json")), ReadJson(Path.Combine(saved, "adapter_config.json")), s.Peft.Model);
            var ours = SafeTensorsFile.LoadAll(Path.Combine(saved, "adapter_model.safetensors"));
            var theirs = SafeTensorsFile.LoadAll(Path.Combine(dir, "adapter_final", "adapter_model.safetensors"));
            Assert.Equal(theirs.Keys.Order(), ours.Keys.Order());
            foreach (var (name, tensor) in theirs)
            {
                Assert.Equal(tensor.ShapeArray(), ours[name].ShapeArray());
                failures.Add(Compare("adapter_final." + name, ours[name], tensor, FixtureCase.Tolerance(s.Case, "param_final"), diffs));
            }
        }
        finally
        {
            Directory.Delete(saved, recursive: true);
        }

        var merged = s.Peft.MergeAndUnload().NamedTensors().ToDictionary(p => p.Name, p => p.Value);
        foreach (var (name, tensor) in SafeTensorsFile.LoadAll(Path.Combine(dir, "merged", "model.safetensors")))
            failures.Add(Compare("merged." + name, merged[name], tensor, (1e-5, 1e-6), diffs));

        var problems = failures.Where(f => f != null).ToArray();
        Assert.True(problems.Length == 0, string.Join("\n", problems));
        foreach (var group in diffs.GroupBy(d => d.Item1.Split('.')[0]))
        {
            var worst = group.MaxBy(d => d.Item2);
            output.WriteLine($"{caseName} {group.Key}: largest |diff| {worst.Item2:G3} ({worst.Item1})");
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void PeftsTruncatedAdapter_LoadsToTheFinalLogits(string caseName)
    {
        var dir = Case(caseName);
        var json = ReadJson(Path.Combine(dir, "case.json"));
        var (model, _) = Pretrained.Load(Path.Combine(dir, "base"));
        var peft = PeftModel.LoadAdapter(model, Path.Combine(dir, "adapter_final"));
        var ranks = json["adalora_ranks_final"]!.AsObject().ToDictionary(p => p.Key[..^".lora_E.default".Length], p => p.Value!.GetValue<int>());
        foreach (var (path, adapter) in ((AdaLora)peft.Method).Layers)
        {
            Assert.Equal(ranks[path], adapter.Rank);
            Assert.Equal(json["peft_config"]!["init_r"]!.GetValue<int>(), adapter.RankNumber);
        }
        var batch = JsonlBatchReader.Read(Path.Combine(dir, "batch.jsonl"), model.ModelConfig.PadTokenId ?? 0,
            SequenceClassification.IsRegression(model.ModelConfig));
        using var _ = GradMode.NoGrad();
        var logits = peft.Forward(batch, ForwardContext.Inference).Logits;
        var expected = SafeTensorsFile.LoadAll(Path.Combine(dir, "expected.safetensors"))["logits_final"];
        var problem = Compare("logits_final", logits, expected, FixtureCase.Tolerance(json, "logits_final"));
        Assert.True(problem == null, problem);
    }

    /// <summary>
    /// Same keys and values, numbers by value (Python writes 0.0 where .NET writes 0). modules_to_save is compared
    /// as the set of names that are modules of the model: for SEQ_CLS peft appends both "classifier" and "score"
    /// whatever the architecture, so its list names a module the model does not have.
    /// </summary>
    private static void AssertSameConfig(JsonObject expected, JsonObject actual, PretrainedModel model)
    {
        Assert.Equal(expected.Select(p => p.Key).Order(), actual.Select(p => p.Key).Order());
        var modules = model.NamedModules().Select(m => m.Path).ToHashSet();
        foreach (var (key, value) in expected)
        {
            if (key == "modules_to_save")
            {
                string[] Present(JsonNode? n) => n is JsonArray a ? a.Select(x => x!.GetValue<string>()).Where(modules.Contains).Distinct().Order().ToArray() : [];
                Assert.Equal(Present(value), Present(actual[key]));
                continue;
            }
            Assert.True(SameJson(value, actual[key]), $"{key}: expected {value?.ToJsonString() ?? "null"}, got {actual[key]?.ToJsonString() ?? "null"}");
        }
    }

    private static bool SameJson(JsonNode? a, JsonNode? b) => (a, b) switch
    {
        (null, null) => true,
        (JsonObject x, JsonObject y) => x.Count == y.Count && x.All(p => y.ContainsKey(p.Key) && SameJson(p.Value, y[p.Key])),
        (JsonArray x, JsonArray y) => x.Count == y.Count && x.Zip(y).All(p => SameJson(p.First, p.Second)),
        (JsonValue x, JsonValue y) when x.GetValueKind() == JsonValueKind.Number && y.GetValueKind() == JsonValueKind.Number =>
            x.GetValue<double>() == y.GetValue<double>(),
        (JsonValue x, JsonValue y) => JsonNode.DeepEquals(x, y),
        _ => false,
    };
}
