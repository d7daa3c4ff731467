using System.Text.Json.Nodes;
using EfficientFT.Models;
using EfficientFT.Models.Data;
using EfficientFT.Models.Nn;
using EfficientFT.Models.SafeTensors;
using EfficientFT.Peft;
using EfficientFT.Peft.Methods;
using EfficientFT.Tensors;
using EfficientFT.Tensors.Autograd;
using EfficientFT.Tensors.Linalg;
using EfficientFT.Training.Optimizers;

namespace EfficientFT.Training.Tests;

/// <summary>
/// (IA)³, VeRA, SSL, SSB and EVA against their golden cases: the trainable set, first logits and loss, every
/// gradient, the tensors after one AdamW step, three losses, the final logits, the saved adapter (which must also
/// reload), and the merged weights. peft methods start from the fixture's adapter_init, loaded as peft saved it
/// (which also checks our reader of the IA3, VERA and EVA formats); SSL and SSB from init.safetensors, which our own
/// initialisation must equal. EVA's data pass is checked separately: it is randomized in the reference, so ranks
/// must agree exactly and A only up to the subspace its rows span.
/// </summary>
public sealed class SmallMethodsTrajectoryTests
{
    private static string Case(string name) => Path.Combine(AppContext.BaseDirectory, "fixtures", "peft", name);

    public static TheoryData<string> Cases => new("roberta_cls__ia3", "roberta_cls__vera", "roberta_cls__ssl", "roberta_cls__ssb", "roberta_cls__eva");

    private sealed record Setup(PeftModel Peft, ModelBatch Batch, JsonObject Case, Dictionary<string, Tensor> Expected);

    private static JsonObject CaseJson(string caseName) =>
        (JsonObject)JsonNode.Parse(File.ReadAllText(Path.Combine(Case(caseName), "case.json")))!;

    private static PretrainedModel Base(string caseName) => Pretrained.Load(Path.Combine(Case(caseName), "base")).Model;

    private static ModelBatch Batch(string caseName, PretrainedModel model) =>
        JsonlBatchReader.Read(Path.Combine(Case(caseName), "batch.jsonl"), model.ModelConfig.PadTokenId ?? 0,
            SequenceClassification.IsRegression(model.ModelConfig));

    /// <summary>Our own initialisation of a custom method: query and value, as the fixture's generator targets.</summary>
    private static PeftModel CreateCustom(string caseName, PretrainedModel model) =>
        PeftModel.Create(model, new PeftOptions { Method = CaseJson(caseName)["method"]!.GetValue<string>(), Targets = TargetSpec.Parse("query,value") });

    private static Setup Prepare(string caseName)
    {
        var dir = Case(caseName);
        var json = CaseJson(caseName);
        var model = Base(caseName);
        PeftModel peft;
        if (Directory.Exists(Path.Combine(dir, "adapter_init")))
        {
            peft = PeftModel.LoadAdapter(model, Path.Combine(dir, "adapter_init"));
        }
        else
        {
            peft = CreateCustom(caseName, model);
            var init = SafeTensorsFile.LoadAll(Path.Combine(dir, "init.safetensors"));
            foreach (var p in peft.Trainable) p.Value.CopyFrom(init[p.Name].AsSpan());
        }
        return new Setup(peft, Batch(caseName, model), json, SafeTensorsFile.LoadAll(Path.Combine(dir, "expected.safetensors")));
    }

    private static void AssertNoFailures(IEnumerable<string?> failures)
    {
        var problems = failures.Where(f => f != null).ToArray();
        Assert.True(problems.Length == 0, string.Join("\n", problems));
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void TrainableSet_MatchesTheReference(string caseName)
    {
        var s = Prepare(caseName);
        FixtureCase.AssertTrainableSet(s.Case, s.Peft);
        foreach (var p in s.Case["trainable_parameters"]!.AsArray())
        {
            var shape = p!["shape"]!.AsArray().Select(n => n!.GetValue<int>()).ToArray();
            Assert.Equal(shape, s.Peft.Trainable.Single(t => t.Name == p["name"]!.GetValue<string>()).Value.ShapeArray());
        }
    }

    [Theory]
    [InlineData("roberta_cls__ia3")]
    [InlineData("roberta_cls__ssl")]
    [InlineData("roberta_cls__ssb")]
    public void OwnInitialisation_EqualsTheReference(string caseName)
    {
        var dir = Case(caseName);
        var model = Base(caseName);
        var (peft, reference) = Directory.Exists(Path.Combine(dir, "adapter_init"))
            ? (PeftModel.Create(model, AdapterConfigReader.Read(Path.Combine(dir, "adapter_init", "adapter_config.json"))),
                SafeTensorsFile.LoadAll(Path.Combine(dir, "adapter_init", "adapter_model.safetensors")))
            : (CreateCustom(caseName, model), SafeTensorsFile.LoadAll(Path.Combine(dir, "init.safetensors")));
        foreach (var p in peft.Trainable.Where(p => p.Kind != "head"))
            Assert.Equal(reference[p.Name].ToArray(), p.Value.ToArray());
    }

    [Fact]
    public void Vera_OwnInitialisation_HasTheReferenceShapesAndLambdas()
    {
        const string caseName = "roberta_cls__vera";
        var dir = Path.Combine(Case(caseName), "adapter_init");
        var peft = PeftModel.Create(Base(caseName), AdapterConfigReader.Read(Path.Combine(dir, "adapter_config.json")));
        var reference = SafeTensorsFile.LoadAll(Path.Combine(dir, "adapter_model.safetensors"));
        foreach (var p in peft.Trainable.Where(p => p.Kind != "head"))
            Assert.Equal(reference[p.Name].ToArray(), p.Value.ToArray());
        // torch's generator cannot be replayed, so the projections only share shape and Kaiming bound √6/√fan_in.
        Assert.Equal(["base_model.vera_A", "base_model.vera_B"], peft.Buffers.Select(b => b.Name));
        foreach (var buffer in peft.Buffers)
        {
            Assert.Equal(reference[buffer.Name].ShapeArray(), buffer.Value.ShapeArray());
            Assert.False(buffer.Value.RequiresGrad);
            var bound = MathF.Sqrt(6f / buffer.Value.Dim(1));
            Assert.All(buffer.Value.ToArray(), v => Assert.InRange(v, -bound, bound));
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void ThreeAdamWSteps_FollowTheReference(string caseName)
    {
        var s = Prepare(caseName);
        var optimizer = new AdamW(ParameterGroups.Build(s.Peft.Trainable, 1e-2));
        var failures = FixtureCase.ThreeSteps(s.Peft, optimizer, s.Batch, s.Case, s.Expected);

        var dir = Case(caseName);
        var saved = Directory.CreateTempSubdirectory("eft-adapter-").FullName;
        try
        {
            s.Peft.SaveAdapter(saved);
            var ours = SafeTensorsFile.LoadAll(Path.Combine(saved, "adapter_model.safetensors"));
            var theirsPath = Directory.Exists(Path.Combine(dir, "adapter_final"))
                ? Path.Combine(dir, "adapter_final", "adapter_model.safetensors")
                : Path.Combine(dir, "final.safetensors");
            var theirs = SafeTensorsFile.LoadAll(theirsPath);
            Assert.Equal(theirs.Keys.Order(), ours.Keys.Order());
            foreach (var (name, tensor) in theirs) failures.Add(FixtureCase.Compare("final." + name, ours[name], tensor, FixtureCase.Tolerance(s.Case, "logits_final")));

            var reloaded = PeftModel.LoadAdapter(Base(caseName), saved);
            Assert.Equal(s.Peft.Trainable.Select(p => p.Name), reloaded.Trainable.Select(p => p.Name));
            using (GradMode.NoGrad())
                failures.Add(FixtureCase.Compare("reloaded logits_final", reloaded.Forward(s.Batch, ForwardContext.Inference).Logits, s.Expected["logits_final"], FixtureCase.Tolerance(s.Case, "logits_final")));
        }
        finally
        {
            Directory.Delete(saved, recursive: true);
        }

        var merged = s.Peft.MergeAndUnload().NamedTensors().ToDictionary(p => p.Name, p => p.Value);
        foreach (var (name, tensor) in SafeTensorsFile.LoadAll(Path.Combine(dir, "merged", "model.safetensors")))
            failures.Add(FixtureCase.Compare("merged." + name, merged[name], tensor, (1e-5, 1e-6)));
        AssertNoFailures(failures);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void MergeThenUnmerge_GivesTheBaseWeightsBack(string caseName)
    {
        var dir = Case(caseName);
        var s = Prepare(caseName);
        // Train from the reference's final state so the adapters are away from their identity initialisation.
        var final = SafeTensorsFile.LoadAll(Directory.Exists(Path.Combine(dir, "adapter_final"))
            ? Path.Combine(dir, "adapter_final", "adapter_model.safetensors")
            : Path.Combine(dir, "final.safetensors"));
        foreach (var p in s.Peft.Trainable) p.Value.CopyFrom(final[p.Name].AsSpan());
        var before = s.Peft.Targets.SelectMany(t => new[] { t.Layer.Weight, t.Layer.Bias }).OfType<Tensor>().Select(w => w.ToArray()).ToList();
        s.Peft.Merge();
        using (GradMode.NoGrad())
            AssertNoFailures([FixtureCase.Compare("merged logits", s.Peft.Forward(s.Batch, ForwardContext.Inference).Logits, s.Expected["logits_final"], (1e-5, 1e-6))]);
        s.Peft.Unmerge();
        var after = s.Peft.Targets.SelectMany(t => new[] { t.Layer.Weight, t.Layer.Bias }).OfType<Tensor>().Select(w => w.ToArray()).ToList();
        for (var i = 0; i < before.Count; i++)
            AssertNoFailures([FixtureCase.Compare($"tensor {i}", Tensor.FromArray(after[i], after[i].Length), Tensor.FromArray(before[i], before[i].Length), (1e-5, 1e-6))]);
        using (GradMode.NoGrad())
            AssertNoFailures([FixtureCase.Compare("unmerged logits", s.Peft.Forward(s.Batch, ForwardContext.Inference).Logits, s.Expected["logits_final"], (1e-5, 1e-6))]);
    }

    [Fact]
    public void Eva_DataPass_GivesPeftsRanksAndSubspaces()
    {
        const string caseName = "roberta_cls__eva";
        var dir = Case(caseName);
        var json = CaseJson(caseName);
        var model = Base(caseName);
        var options = AdapterConfigReader.FromJson((JsonObject)json["peft_config"]!);
        var peft = PeftModel.Create(model, options, [Batch(caseName, model)]);

        Assert.Equal(Pattern(json["eva_rank_pattern"]), peft.Options.RankPattern.ToDictionary(p => p.Key, p => (double)p.Value));
        Assert.Equal(Pattern(json["eva_alpha_pattern"]), peft.Options.AlphaPattern.ToDictionary(p => p.Key, p => p.Value));
        var expectedTargets = json["peft_config"]!["target_modules"]!.AsArray().Select(n => n!.GetValue<string>()).ToList();
        Assert.Equal(expectedTargets, peft.Targets.Select(t => t.Path).ToList());

        var reference = SafeTensorsFile.LoadAll(Path.Combine(dir, "adapter_init", "adapter_model.safetensors"));
        foreach (var p in peft.Trainable.Where(p => p.Kind == "lora_B")) Assert.All(p.Value.ToArray(), v => Assert.Equal(0f, v));
        foreach (var p in peft.Trainable.Where(p => p.Kind == "lora_A"))
        {
            var theirs = reference[p.Name];
            Assert.Equal(theirs.ShapeArray(), p.Value.ShapeArray());
            // The cosines of the principal angles between the two row spaces are the singular values of A·A_refᵀ
            // (both have orthonormal rows). Both sides sketch randomly (svd_lowrank, our randomized SVD), so only
            // near-equality is expected: observed cosines are within 5e-7 of 1, entries within 5e-5.
            var rank = p.Value.Dim(0);
            var cross = Ops.MatMul(p.Value, theirs.Transpose()).ToArray();
            var cosines = LinearAlgebra.Svd(cross, rank, rank).S;
            Assert.True(cosines.Min() > 0.9999f, $"{p.Name}: principal-angle cosines {string.Join(", ", cosines)}");
        }

        var saved = Directory.CreateTempSubdirectory("eft-eva-").FullName;
        try
        {
            peft.SaveAdapter(saved);
            var config = (JsonObject)JsonNode.Parse(File.ReadAllText(Path.Combine(saved, "adapter_config.json")))!;
            Assert.Equal("eva", config["init_lora_weights"]!.GetValue<string>());
            Assert.Equal(2.0, config["eva_config"]!["rho"]!.GetValue<double>());
            Assert.Equal(expectedTargets, config["target_modules"]!.AsArray().Select(n => n!.GetValue<string>()).ToList());
        }
        finally
        {
            Directory.Delete(saved, recursive: true);
        }
    }

    private static Dictionary<string, double> Pattern(JsonNode? node) =>
        node!.AsObject().ToDictionary(p => p.Key, p => p.Value!.GetValue<double>());

    [Fact]
    public void Eva_RedistributesRanksAcrossUnequalLayers_KeepingAlphaOverR()
    {
        const string caseName = "roberta_cls__eva";
        var model = Base(caseName);
        var options = new PeftOptions
        {
            Method = "eva",
            Targets = TargetSpec.Parse("query,value,attention.output.dense,intermediate.dense,output.dense"),
            Rank = 4,
            Alpha = 8,
        };
        var all = options.Targets.Select(model).Select(t => t.Path).ToList();
        var peft = PeftModel.Create(model, options, [Batch(caseName, model)]);

        Assert.NotEmpty(peft.Options.RankPattern);
        var ranks = all.ToDictionary(p => p, p => peft.Options.RankPattern.GetValueOrDefault(p, peft.Targets.Any(t => t.Path == p) ? 4 : 0));
        Assert.Equal(4 * all.Count, ranks.Values.Sum());
        foreach (var (path, layer) in peft.Targets)
        {
            var adapter = Assert.IsType<LoraAdapter>(layer.Adapter);
            Assert.Equal(ranks[path], adapter.A.Dim(0));
            Assert.Equal(2f, adapter.Scale);
            // EVA's rows are orthonormal directions of the layer's input.
            var gram = Ops.MatMul(adapter.A, adapter.A.Transpose()).ToArray();
            for (var i = 0; i < adapter.A.Dim(0); i++)
            for (var j = 0; j < adapter.A.Dim(0); j++)
                Assert.Equal(i == j ? 1f : 0f, gram[i * adapter.A.Dim(0) + j], 4);
        }
        // Query and value see the same input and share one decomposition, so they get the same rank and rows.
        foreach (var layer in new[] { 0, 1 })
        {
            var q = $"roberta.encoder.layer.{layer}.attention.self.query";
            var v = $"roberta.encoder.layer.{layer}.attention.self.value";
            Assert.Equal(ranks[q], ranks[v]);
        }
        foreach (var path in all.Where(p => ranks[p] == 0))
            Assert.Null(((Linear)model.NamedModules().Single(m => m.Path == path).Module).Adapter);

        var saved = Directory.CreateTempSubdirectory("eft-eva-").FullName;
        try
        {
            peft.SaveAdapter(saved);
            var reloaded = PeftModel.LoadAdapter(Base(caseName), saved);
            Assert.Equal(peft.Options.RankPattern, reloaded.Options.RankPattern);
            Assert.Equal(peft.Options.AlphaPattern, reloaded.Options.AlphaPattern);
            Assert.Equal(peft.Trainable.Select(p => (p.Name, Shapes.Format(p.Value.Shape))), reloaded.Trainable.Select(p => (p.Name, Shapes.Format(p.Value.Shape))));
            foreach (var (ours, theirs) in peft.Trainable.Zip(reloaded.Trainable)) Assert.Equal(ours.Value.ToArray(), theirs.Value.ToArray());
        }
        finally
        {
            Directory.Delete(saved, recursive: true);
        }
    }

    [Fact]
    public void Lora_RankAndAlphaPatterns_SetRankAndScalePerModule()
    {
        var config = (JsonObject)CaseJson("roberta_cls__lora")["peft_config"]!.DeepClone();
        config["rank_pattern"] = new JsonObject { ["value"] = 2 };
        config["alpha_pattern"] = new JsonObject { ["layer.1.attention.self.value"] = 6 };
        var model = Base("roberta_cls__lora");
        var peft = PeftModel.Create(model, AdapterConfigReader.FromJson(config));
        var expected = new Dictionary<string, (int Rank, float Scale)>
        {
            ["roberta.encoder.layer.0.attention.self.query"] = (4, 2f),
            ["roberta.encoder.layer.0.attention.self.value"] = (2, 4f),
            ["roberta.encoder.layer.1.attention.self.query"] = (4, 2f),
            ["roberta.encoder.layer.1.attention.self.value"] = (2, 3f),
        };
        foreach (var (path, layer) in peft.Targets)
        {
            var adapter = Assert.IsType<LoraAdapter>(layer.Adapter);
            Assert.Equal(expected[path], (adapter.A.Dim(0), adapter.Scale));
            Assert.Equal([layer.OutFeatures, expected[path].Rank], adapter.B.ShapeArray());
        }
        var saved = Directory.CreateTempSubdirectory("eft-pattern-").FullName;
        try
        {
            peft.SaveAdapter(saved);
            var reloaded = PeftModel.LoadAdapter(Base("roberta_cls__lora"), saved);
            Assert.Equal(new Dictionary<string, int> { ["value"] = 2 }, reloaded.Options.RankPattern);
            Assert.Equal(new Dictionary<string, double> { ["layer.1.attention.self.value"] = 6 }, reloaded.Options.AlphaPattern);
        }
        finally
        {
            Directory.Delete(saved, recursive: true);
        }
    }
}
