using EfficientFT.Models.Configs;
using EfficientFT.Models.Llama;
using EfficientFT.Models.Roberta;
using EfficientFT.Models.SafeTensors;
using EfficientFT.Tensors;

namespace EfficientFT.Models.Tests.Models;

public sealed class PretrainedTests
{
    [Theory]
    [InlineData("roberta_cls__base")]
    [InlineData("llama_lm__base")]
    [InlineData("llama_cls__lora")]
    [InlineData("roberta_reg__lora")]
    public void Save_WritesTheSameBytesPythonWrote(string caseName)
    {
        // transformers' save_pretrained wrote these files; writing the loaded model back must give a checkpoint
        // transformers reads as the same model, and byte equality is the strongest form of that.
        var source = Path.Combine(Fixtures.Case(caseName), "base");
        var (model, _) = Pretrained.Load(source);
        var target = Directory.CreateTempSubdirectory("eft-save-").FullName;
        try
        {
            Pretrained.Save(model, target);
            Assert.Equal(File.ReadAllBytes(Path.Combine(source, "model.safetensors")), File.ReadAllBytes(Path.Combine(target, "model.safetensors")));
            Assert.Equal(File.ReadAllText(Path.Combine(source, "config.json")), File.ReadAllText(Path.Combine(target, "config.json")));
        }
        finally
        {
            Directory.Delete(target, recursive: true);
        }
    }

    /// <summary>
    /// What the layers here do not compute is refused rather than computed otherwise: Mistral's sliding window for rows
    /// longer than it (checked at the row's line too), and RoBERTa's MLM head with an output layer of its own.
    /// </summary>
    [Fact]
    public void WhatTheModelsDoNotCompute_IsRefused()
    {
        var config = (LlamaConfig)ModelConfig.Parse("""
            {"model_type": "mistral", "vocab_size": 50, "hidden_size": 16, "intermediate_size": 32, "num_hidden_layers": 1,
             "num_attention_heads": 2, "num_key_value_heads": 1, "sliding_window": 4}
            """);
        var model = Pretrained.Create(config, "LlamaForCausalLM");
        var fits = new ModelBatch(1, 4, [1, 2, 3, 4], [1, 1, 1, 1]);
        Assert.Equal([1, 4, 50], model.Forward(fits, Nn.ForwardContext.Inference).Logits.ShapeArray());
        var longer = new ModelBatch(1, 5, [1, 2, 3, 4, 5], [1, 1, 1, 1, 1]);
        Assert.Contains("sliding window of 4", Assert.Throws<NotSupportedException>(() => model.Forward(longer, Nn.ForwardContext.Inference)).Message);
        Assert.Equal(4, config.MaxTokens);

        var untied = RobertaConfig.Default() with { VocabSize = 50, HiddenSize = 16, NumAttentionHeads = 2, IntermediateSize = 32, NumHiddenLayers = 1, TieWordEmbeddings = false };
        Assert.Throws<NotSupportedException>(() => Pretrained.Create(untied, "RobertaForMaskedLM"));
    }

    /// <summary>
    /// transformers' XLM-RoBERTa and Mistral classes are RoBERTa's and LLaMA's under other names, with the same
    /// tensors: a checkpoint saved as one builds the other (not the family's default head), and is saved under its own
    /// name again.
    /// </summary>
    [Theory]
    [InlineData("roberta_cls__base", "XLMRobertaForSequenceClassification", "RobertaForSequenceClassification")]
    [InlineData("roberta_cls__base", "XLMRobertaForMaskedLM", "RobertaForMaskedLM")]
    [InlineData("llama_lm__base", "MistralForCausalLM", "LlamaForCausalLM")]
    [InlineData("llama_cls__lora", "MistralForSequenceClassification", "LlamaForSequenceClassification")]
    public void AnotherModelTypesNameForTheSameClass_BuildsThatClass(string caseName, string name, string builds)
    {
        var source = Path.Combine(Fixtures.Case(caseName), "base");
        using var dir = new TempDirectory();
        var config = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(source, "config.json")))!.AsObject();
        config["architectures"] = new System.Text.Json.Nodes.JsonArray(name);
        File.WriteAllText(dir.File("config.json"), config.ToJsonString());
        File.Copy(Path.Combine(source, "model.safetensors"), dir.File("model.safetensors"));

        var (model, _) = Pretrained.Load(dir.Path);
        using var saved = new TempDirectory();
        Pretrained.Save(model, saved.Path);

        Assert.Equal(builds, model.Architecture);
        Assert.Equal(name, System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(saved.File("config.json")))!["architectures"]![0]!.GetValue<string>());
    }

    /// <summary>
    /// A multi-label classifier's loss is binary cross-entropy on multi-hot labels (transformers' BCEWithLogitsLoss):
    /// here the mean over every row and class of the definition, taken on the reference's logits. Class indices are
    /// refused at their line: cross-entropy on them would train another objective.
    /// </summary>
    [Fact]
    public void AMultiLabelClassifier_TakesBinaryCrossEntropyOnMultiHotLabels()
    {
        var dir = Fixtures.Case("roberta_cls__base");
        var (model, _) = Pretrained.Load(Path.Combine(dir, "base"), c => c with { ProblemType = ProblemType.MultiLabelClassification });
        var rows = Path.Combine(dir, "batch.jsonl");
        var indices = Assert.Throws<InvalidDataException>(() => EfficientFT.Models.Data.JsonlBatchReader.Read(rows, model.ModelConfig));
        Assert.Contains($"{rows}:1:", indices.Message);
        Assert.Contains("multi_label_classification", indices.Message);

        var batch = EfficientFT.Models.Data.JsonlBatchReader.Read(rows, 1, regression: false) with { ClassLabels = null };
        var targets = Enumerable.Range(0, batch.Batch * 3).Select(i => i % 4 == 0 ? 1f : i % 5 == 0 ? 0.5f : 0f).ToArray();
        var logits = Fixtures.Expected("roberta_cls__base")["logits_init"].ToArray();
        var expected = logits.Zip(targets, (x, y) =>
        {
            var sigma = 1 / (1 + Math.Exp(-x));
            return -(y * Math.Log(sigma) + (1 - y) * Math.Log(1 - sigma));
        }).Average();

        var output = model.Forward(batch with { MultiHotLabels = targets }, EfficientFT.Models.Nn.ForwardContext.Inference);

        Assert.Equal(batch.Batch, model.LossItems(batch with { MultiHotLabels = targets }));
        Assert.Equal(expected, output.Loss!.Item(), 5);
    }

    /// <summary>A classifier made from an XLM-R or Mistral body takes that model type's class name, and keeps it when saved.</summary>
    [Theory]
    [InlineData("roberta_cls__base", "xlm-roberta", "XLMRobertaForSequenceClassification")]
    [InlineData("llama_cls__lora", "mistral", "MistralForSequenceClassification")]
    public void AClassifierFromABody_IsNamedForItsModelType(string caseName, string modelType, string name)
    {
        var (model, _) = Pretrained.Load(Path.Combine(Fixtures.Case(caseName), "base"),
            c => Pretrained.AsSequenceClassifier(c with { ModelType = modelType }, ["a", "b", "c"], ProblemType.SingleLabelClassification), freshHead: true);
        using var saved = new TempDirectory();
        Pretrained.Save(model, saved.Path);

        Assert.Equal(name, System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(saved.File("config.json")))!["architectures"]![0]!.GetValue<string>());
        Assert.Equal(3, model.ModelConfig.NumLabels);
    }

    /// <summary>The weights are written in float32, so a bfloat16 base's torch_dtype must not describe them.</summary>
    [Fact]
    public void Save_OfABFloat16Base_SaysFloat32()
    {
        var source = Path.Combine(Fixtures.Case("llama_lm__base"), "base");
        using var dir = new TempDirectory();
        File.WriteAllText(dir.File("config.json"), File.ReadAllText(Path.Combine(source, "config.json")).Replace("\"float32\"", "\"bfloat16\"", StringComparison.Ordinal));
        File.Copy(Path.Combine(source, "model.safetensors"), dir.File("model.safetensors"));
        var (model, _) = Pretrained.Load(dir.Path);
        using var saved = new TempDirectory();

        Pretrained.Save(model, saved.Path);

        Assert.Equal("float32", System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(saved.File("config.json")))!["torch_dtype"]!.GetValue<string>());
    }

    /// <summary>
    /// Saving into a directory that holds a sharded checkpoint (a local copy of a large base model, say) must not leave
    /// its index behind: the loader prefers the index, so the directory would load the old weights.
    /// </summary>
    [Fact]
    public void Save_OverAShardedCheckpoint_LoadsBackTheNewWeights()
    {
        var (model, _) = Pretrained.Load(Path.Combine(Fixtures.Case("roberta_cls__base"), "base"));
        using var dir = new TempDirectory();
        var stale = model.NamedTensors().Select(p => KeyValuePair.Create(p.Name, Tensor.Zeros(p.Value.ShapeArray()))).ToList();
        SafeTensorsWriter.SaveSharded(dir.Path, stale, new SafeTensorsSaveOptions { MaxShardBytes = 10_000 });
        Assert.True(File.Exists(dir.File("model.safetensors.index.json")));

        Pretrained.Save(model, dir.Path);

        Assert.Equal(["config.json", "model.safetensors"], Directory.GetFiles(dir.Path).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        var (loaded, _) = Pretrained.Load(dir.Path);
        var expected = model.NamedTensors().ToDictionary(p => p.Name, p => p.Value.AsSpan().ToArray());
        foreach (var (name, tensor) in loaded.NamedTensors()) Assert.Equal(expected[name], tensor.AsSpan().ToArray());
    }

    /// <summary>
    /// A checkpoint stored in bfloat16, as LLaMA checkpoints are, loads into held matrices without any rounding: their
    /// bits are the file's. The task head and the vectors stay float32, and saving as BF16 gives the file back.
    /// </summary>
    [Theory]
    [InlineData("llama_cls__lora")]
    [InlineData("roberta_cls__base")]
    public void LoadHeldInBFloat16_OfABFloat16Checkpoint_KeepsItsBitsExactly(string caseName)
    {
        var source = Path.Combine(Fixtures.Case(caseName), "base");
        using var dir = new TempDirectory();
        File.Copy(Path.Combine(source, "config.json"), dir.File("config.json"));
        SafeTensorsWriter.Save(dir.File("model.safetensors"), SafeTensorsFile.LoadAll(Path.Combine(source, "model.safetensors")),
            new SafeTensorsSaveOptions { DType = SafeTensorsDType.BF16 });

        var (model, _) = Pretrained.Load(dir.Path, c => c, holdInBFloat16: true);
        using var file = SafeTensorsFile.Open(dir.File("model.safetensors"));
        var held = 0;
        foreach (var (name, tensor) in model.NamedTensors())
        {
            var isHead = model.HeadModules.Any(head => name.StartsWith(head + ".", StringComparison.Ordinal));
            Assert.Equal(tensor.Rank == 2 && !isHead, tensor.IsBFloat16);
            if (!tensor.IsBFloat16) continue;
            held++;
            Assert.Equal(System.Runtime.InteropServices.MemoryMarshal.Cast<byte, ushort>(file.GetBytes(name)).ToArray(), tensor.AsBFloat16Span().ToArray());
        }
        Assert.True(held > 5);

        using var again = new TempDirectory();
        SafeTensorsWriter.Save(again.File("model.safetensors"), model.NamedTensors().ToDictionary(p => p.Name, p => p.Value),
            new SafeTensorsSaveOptions { DType = SafeTensorsDType.BF16 });
        using var saved = SafeTensorsFile.Open(again.File("model.safetensors"));
        foreach (var (name, _) in model.NamedTensors()) Assert.Equal(file.GetBytes(name), saved.GetBytes(name));
    }

    [Fact]
    public void Load_WithAnotherHead_InitialisesOnlyTheHead()
    {
        var source = Path.Combine(Fixtures.Case("llama_lm__base"), "base");
        var (model, report) = Pretrained.Load(source, "LlamaForSequenceClassification", seed: 5);
        Assert.IsType<LlamaForSequenceClassification>(model);
        Assert.Equal(["score.weight"], report.NewlyInitialized);
        Assert.Empty(report.Unused);
        var score = ((LlamaForSequenceClassification)model).Score.Weight.ToArray();
        var std = Math.Sqrt(score.Select(v => (double)v * v).Average());
        Assert.InRange(std, 0.5 * model.ModelConfig.InitializerRange, 2 * model.ModelConfig.InitializerRange);
    }

    /// <summary>
    /// bitsandbytes' int8 checkpoints keep a weight's shape and store its codes as I8: read as numbers they would load
    /// as weights scaled wrongly, so such a tensor is refused, named with its dtype.
    /// </summary>
    [Fact]
    public void Load_OfAnInt8Weight_IsRefusedNamingTheTensorAndItsDType()
    {
        using var dir = new TempDirectory();
        var source = Path.Combine(Fixtures.Case("roberta_cls__base"), "base");
        File.Copy(Path.Combine(source, "config.json"), dir.File("config.json"));
        const string quantized = "roberta.encoder.layer.0.attention.self.query.weight";
        var header = new System.Text.Json.Nodes.JsonObject();
        var data = new List<byte>();
        foreach (var (name, tensor) in SafeTensorsFile.LoadAll(Path.Combine(source, "model.safetensors")))
        {
            var bytes = name == quantized ? new byte[tensor.Size] : System.Runtime.InteropServices.MemoryMarshal.AsBytes(tensor.Contiguous().AsSpan()).ToArray();
            header[name] = new System.Text.Json.Nodes.JsonObject
            {
                ["dtype"] = name == quantized ? "I8" : "F32",
                ["shape"] = new System.Text.Json.Nodes.JsonArray(tensor.ShapeArray().Select(d => (System.Text.Json.Nodes.JsonNode?)d).ToArray()),
                ["data_offsets"] = new System.Text.Json.Nodes.JsonArray(data.Count, data.Count + bytes.Length),
            };
            data.AddRange(bytes);
        }
        var json = System.Text.Encoding.UTF8.GetBytes(header.ToJsonString());
        File.WriteAllBytes(dir.File("model.safetensors"), [.. BitConverter.GetBytes((ulong)json.Length), .. json, .. data]);

        var e = Assert.Throws<InvalidDataException>(() => Pretrained.Load(dir.Path));
        Assert.Contains($"tensor {quantized} is stored as I8, not as floating point of 16 bits or more", e.Message);
        Assert.Contains(dir.Path, e.Message);
    }

    [Fact]
    public void Load_MissingBodyTensor_NamesTheCheckpointAndTensor()
    {
        var dir = Directory.CreateTempSubdirectory("eft-missing-").FullName;
        try
        {
            var source = Path.Combine(Fixtures.Case("roberta_cls__base"), "base");
            File.Copy(Path.Combine(source, "config.json"), Path.Combine(dir, "config.json"));
            var tensors = SafeTensorsFile.LoadAll(Path.Combine(source, "model.safetensors"));
            tensors.Remove("roberta.encoder.layer.1.output.dense.weight");
            SafeTensorsWriter.Save(Path.Combine(dir, "model.safetensors"), tensors);
            var e = Assert.Throws<InvalidDataException>(() => Pretrained.Load(dir));
            Assert.Contains(dir, e.Message);
            Assert.Contains("roberta.encoder.layer.1.output.dense.weight", e.Message);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void RobertaPositionIds_SkipPadsAndStartAfterPaddingIndex()
    {
        // transformers: cumsum(ids != pad) * (ids != pad) + pad.
        int[] ids = [0, 5, 6, 2, 1, 1, 0, 7, 1, 8];
        Assert.Equal([2, 3, 4, 5, 1, 1, 2, 3, 1, 4], RobertaEmbeddings.PositionIds(ids, length: 5, paddingIndex: 1));
    }
}
