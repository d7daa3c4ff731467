using EfficientFT.Models;
using EfficientFT.Models.Data;
using EfficientFT.Models.Nn;
using EfficientFT.Models.SafeTensors;
using EfficientFT.Tensors;
using EfficientFT.Tensors.Autograd;

namespace EfficientFT.Peft.Tests;

/// <summary>Promises every registered low-rank method keeps, on the golden RoBERTa and LLaMA models.</summary>
public sealed class MethodContractTests
{
    private static string Case(string name) => Path.Combine(AppContext.BaseDirectory, "fixtures", "peft", name);

    private static (PretrainedModel Model, ModelBatch Batch) Load(string caseName)
    {
        var (model, _) = Pretrained.Load(Path.Combine(Case(caseName), "base"));
        var batch = JsonlBatchReader.Read(Path.Combine(Case(caseName), "batch.jsonl"), model.ModelConfig.PadTokenId ?? 0,
            SequenceClassification.IsRegression(model.ModelConfig));
        return (model, batch);
    }

    private static float[] Logits(PretrainedModel model, ModelBatch batch)
    {
        using var _ = GradMode.NoGrad();
        return model.Forward(batch, ForwardContext.Inference).Logits.ToArray();
    }

    private static void AssertClose(float[] expected, float[] actual, double tolerance, string what)
    {
        var worst = expected.Zip(actual, (e, a) => Math.Abs(e - a)).Max();
        Assert.True(worst <= tolerance, $"{what}: max |diff| {worst:G3} > {tolerance:G3}");
    }

    public static TheoryData<string, string> MethodsAndModels()
    {
        var data = new TheoryData<string, string>();
        foreach (var method in PeftMethods.Registry.Keys)
        foreach (var model in new[] { "roberta_cls__base", "llama_lm__base" })
            if (!(method == "bitfit" && model.StartsWith("llama", StringComparison.Ordinal)))
                data.Add(method, model);
        return data;
    }

    [Fact]
    public void BitFit_OnAModelWithoutBiases_SaysSo()
    {
        // LLaMA's projections have no biases, so BitFit would train nothing but the head.
        var (model, _) = Load("llama_lm__base");
        var e = Assert.Throws<ArgumentException>(() => PeftModel.Create(model, Options("bitfit", "q,v", 1)));
        Assert.Contains("bias", e.Message);
    }

    /// <summary>Options for a contract check; methods with required settings of their own get them here.</summary>
    private static PeftOptions Options(string method, string targets, ulong seed, double alpha = 8) => new()
    {
        Method = method,
        Targets = TargetSpec.Parse(targets),
        Rank = 4,
        Alpha = alpha,
        Seed = seed,
        AdaLora = method == "adalora" ? new AdaLoraOptions { InitR = 6, TargetR = 4, TotalStep = 10 } : null,
    };

    /// <summary>Random but non-zero adapter values, so merge and output checks are not vacuous.</summary>
    private static void Perturb(PeftModel peft)
    {
        var rng = new Rng(99);
        foreach (var p in peft.Trainable.Where(p => p.Kind != "head"))
        {
            var values = p.Value.AsSpan();
            for (var i = 0; i < values.Length; i++) values[i] += (float)(0.05 * rng.NextNormal());
        }
    }

    [Theory]
    [MemberData(nameof(MethodsAndModels))]
    public void AtInit_OutputEqualsTheBaseModel(string method, string caseName)
    {
        var (model, batch) = Load(caseName);
        var before = Logits(model, batch);
        PeftModel.Create(model, Options(method, "q,v", 1));
        AssertClose(before, Logits(model, batch), 2e-5, $"{method} at init");
    }

    [Theory]
    [MemberData(nameof(MethodsAndModels))]
    public void Merged_EqualsAdapted_AndUnmergeRestores(string method, string caseName)
    {
        var (model, batch) = Load(caseName);
        var peft = PeftModel.Create(model, Options(method, "q,k,v", 2));
        Perturb(peft);
        var adapted = Logits(model, batch);
        var weights = peft.Targets.Select(t => t.Layer.Weight.ToArray()).ToList();
        if (!peft.Method.UsesPeftKeys) return;
        peft.Merge();
        AssertClose(adapted, Logits(model, batch), 2e-5, $"{method} merged");
        peft.Unmerge();
        AssertClose(adapted, Logits(model, batch), 2e-5, $"{method} unmerged");
        for (var i = 0; i < weights.Count; i++) AssertClose(weights[i], peft.Targets[i].Layer.Weight.ToArray(), 1e-5, $"{method} weight {i} after unmerge");
    }

    /// <summary>
    /// LoRA on an untied LM head: forward must go through the adapter, as merge folds it in, or the merged model
    /// computes something else than the adapted one did (and the adapter never gets a gradient).
    /// </summary>
    [Fact]
    public void AnAdapterOnTheLmHead_IsUsedByForwardAsByMerge()
    {
        var (model, batch) = Load("llama_lm__base");
        var before = Logits(model, batch);
        var peft = PeftModel.Create(model, new PeftOptions { Method = "lora", Targets = TargetSpec.Parse("lm_head"), Rank = 2, Alpha = 4 });
        Perturb(peft);
        var adapted = Logits(model, batch);
        Assert.True(before.Zip(adapted).Max(p => Math.Abs(p.First - p.Second)) > 1e-3, "the LM head's adapter changed no logit");
        peft.Merge();
        AssertClose(adapted, Logits(model, batch), 2e-5, "lm_head merged");
    }

    [Theory]
    [MemberData(nameof(MethodsAndModels))]
    public void OnlyTheTrainableSetGetsGradients(string method, string caseName)
    {
        var (model, batch) = Load(caseName);
        var peft = PeftModel.Create(model, Options(method, "q,v", 3));
        Perturb(peft);
        peft.Forward(batch, ForwardContext.Inference).Loss!.Backward();
        var trainable = peft.Trainable.Select(p => p.Value).ToHashSet(ReferenceEqualityComparer.Instance);
        foreach (var (name, tensor) in model.NamedTensors())
            Assert.True(trainable.Contains(tensor) == (tensor.Grad != null), $"{method}: {name} trainable={trainable.Contains(tensor)} but has gradient={tensor.Grad != null}");
        Assert.All(peft.Trainable, p => Assert.NotNull(p.Value.Grad));
    }

    [Theory]
    [MemberData(nameof(MethodsAndModels))]
    public void EveryMethod_TagsWhatItTrainsInVWithTheValueRole(string method, string caseName)
    {
        // λ gives the V projection's tensors their own rate whatever the method trains there, so every tensor a
        // method creates or unfreezes under a value/v_proj module must say so, and nothing else may.
        var (model, _) = Load(caseName);
        var peft = PeftModel.Create(model, Options(method, "q,k,v", 4));
        foreach (var p in peft.Trainable.Where(p => p.Kind != "head"))
        {
            var inValue = p.Name.Contains(".value.", StringComparison.Ordinal) || p.Name.Contains(".v_proj.", StringComparison.Ordinal)
                || p.Name.Contains(".value_", StringComparison.Ordinal) || p.Name.Contains(".v_proj_", StringComparison.Ordinal);
            Assert.True(inValue == (p.Role == ProjectionRole.Value), $"{method}: {p.Name} has role {p.Role}");
        }
    }

    [Theory]
    [InlineData("lora", false)]
    [InlineData("dora", true)]
    public void TrainableCount_FollowsTheFormula(string method, bool magnitude)
    {
        // r·(in + out) per adapted projection (+ out for DoRA's magnitude), plus the whole head.
        var (model, _) = Load("roberta_cls__base");
        var head = model.NamedTensors().Where(p => p.Name.StartsWith("classifier.", StringComparison.Ordinal)).Sum(p => (long)p.Value.Size);
        var peft = PeftModel.Create(model, new PeftOptions { Method = method, Targets = TargetSpec.Parse("q,v"), Rank = 4, Alpha = 8 });
        var layers = model.ModelConfig.NumHiddenLayers;
        var hidden = model.ModelConfig.HiddenSize;
        Assert.Equal(layers * 2 * (4L * (hidden + hidden) + (magnitude ? hidden : 0)) + head, peft.TrainableCount);
        Assert.InRange(peft.TrainableShare, 0, 1);
    }

    /// <summary>rsLoRA's flag divides α by √r in every combination it is part of, and only there.</summary>
    [Theory]
    [InlineData("lora", false)]
    [InlineData("rslora+dora", true)]
    [InlineData("pissa+rslora", true)]
    [InlineData("olora+dora", false)]
    [InlineData("eva+rslora", true)]
    public void TheScale_IsAlphaOverRootRankWithRsLora(string method, bool rsLora)
    {
        var (model, _) = Load("roberta_cls__base");
        var peft = PeftModel.Create(model, new PeftOptions { Method = method, Targets = TargetSpec.Parse("q"), Rank = 4, Alpha = 16 });
        var scale = ((Methods.LoraAdapter)peft.Targets[0].Layer.Adapter!).Scale;
        Assert.Equal(rsLora ? 16 / 2f : 16 / 4f, scale);
    }

    [Theory]
    [InlineData("pissa")]
    [InlineData("olora")]
    public void ResidualInit_MatchesPeftUpToSigns(string method)
    {
        // peft: W_res = W − s·B·A with (A, B) from the SVD / QR of W. Singular vectors and QR columns are unique up
        // to a sign per rank, so compare B·A products (sign-free) and the residual weights.
        var dir = Case($"roberta_cls__{method}");
        var (model, _) = Pretrained.Load(Path.Combine(dir, "base"));
        var peft = PeftModel.Create(model, new PeftOptions { Method = method, Targets = TargetSpec.Parse("query,value"), Rank = 4, Alpha = 8 });
        var init = SafeTensorsFile.LoadAll(Path.Combine(dir, "adapter_init", "adapter_model.safetensors"));
        var residual = SafeTensorsFile.LoadAll(Path.Combine(dir, "base_residual", "model.safetensors"));
        foreach (var (path, layer) in peft.Targets)
        {
            var ours = Ops.MatMul(peft.Trainable.Single(p => p.Name == PeftModel.AdapterKey(path, "lora_B.weight")).Value,
                peft.Trainable.Single(p => p.Name == PeftModel.AdapterKey(path, "lora_A.weight")).Value).ToArray();
            var theirs = Ops.MatMul(init[PeftModel.AdapterKey(path, "lora_B.weight")], init[PeftModel.AdapterKey(path, "lora_A.weight")]).ToArray();
            AssertClose(theirs, ours, 1e-4, $"{path} B·A");
            AssertClose(residual[path + ".weight"].ToArray(), layer.Weight.ToArray(), 1e-5, $"{path} residual");
        }
    }

    [Fact]
    public void PeftWrittenAdapter_LoadsAndGivesPeftsFinalLogits()
    {
        foreach (var caseName in new[] { "roberta_cls__lora", "roberta_cls__dora", "roberta_cls__rslora", "llama_lm__lora" })
        {
            var dir = Case(caseName);
            var (model, _) = Pretrained.Load(Path.Combine(dir, "base"));
            var batch = JsonlBatchReader.Read(Path.Combine(dir, "batch.jsonl"), model.ModelConfig.PadTokenId ?? 0, false);
            PeftModel.LoadAdapter(model, Path.Combine(dir, "adapter_final"));
            var expected = SafeTensorsFile.LoadAll(Path.Combine(dir, "expected.safetensors"))["logits_final"].ToArray();
            AssertClose(expected, Logits(model, batch), 1e-5 * expected.Max(Math.Abs) + 1e-6, caseName);
        }
    }

    /// <summary>Saved as peft's flags (init_lora_weights, use_rslora, use_dora), read back as the same combination.</summary>
    [Theory]
    [InlineData("dora")]
    [InlineData("rslora+dora")]
    [InlineData("pissa+dora")]
    [InlineData("olora+rslora")]
    [InlineData("eva+rslora+dora")]
    public void SavedAdapter_LoadsBackToTheSameModel(string method)
    {
        var (model, batch) = Load("roberta_cls__base");
        var peft = PeftModel.Create(model, new PeftOptions { Method = method, Targets = TargetSpec.Parse("q,k,v"), Rank = 4, Alpha = 16, Seed = 5 });
        Perturb(peft);
        var adapted = Logits(model, batch);
        var dir = Directory.CreateTempSubdirectory("eft-adapter-").FullName;
        try
        {
            peft.SaveAdapter(dir);
            var (fresh, _) = Load("roberta_cls__base");
            var loaded = PeftModel.LoadAdapter(fresh, dir);
            Assert.Equal(method, loaded.Method.Name);
            Assert.Equal(adapted, Logits(fresh, batch));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void UnknownTarget_ListsTheModelsModules()
    {
        var (model, _) = Load("llama_lm__base");
        var e = Assert.Throws<ArgumentException>(() => PeftModel.Create(model, new PeftOptions { Method = "lora", Targets = TargetSpec.Parse("query") }));
        Assert.Contains("q_proj", e.Message);
    }
}
