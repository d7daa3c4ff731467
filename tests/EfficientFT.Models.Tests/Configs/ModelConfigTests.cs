using EfficientFT.Models.Configs;

namespace EfficientFT.Models.Tests.Configs;

public sealed class ModelConfigTests
{
    private static string RobertaFixture => TestFiles.Fixture("peft", "roberta_cls__base", "base", "config.json");

    private static string LlamaFixture => TestFiles.Fixture("peft", "llama_lm__base", "base", "config.json");

    [Fact]
    public void RobertaFixture_ParsesEveryField()
    {
        var config = Assert.IsType<RobertaConfig>(ModelConfig.Load(RobertaFixture));
        Assert.Equal("roberta", config.ModelType);
        Assert.Equal(["RobertaForSequenceClassification"], config.Architectures);
        Assert.Equal((120, 32, 2, 4, 64), (config.VocabSize, config.HiddenSize, config.NumHiddenLayers, config.NumAttentionHeads, config.IntermediateSize));
        Assert.Equal("gelu", config.HiddenAct);
        Assert.Equal(40, config.MaxPositionEmbeddings);
        Assert.Equal(1, config.TypeVocabSize);
        Assert.Equal(1e-12, config.LayerNormEps);
        Assert.Equal(0.0, config.HiddenDropoutProb);
        Assert.Equal(0.0, config.AttentionProbsDropoutProb);
        Assert.Null(config.ClassifierDropout);
        Assert.Equal(0.2, config.InitializerRange);
        Assert.Equal((1, 0), (config.PadTokenId, config.BosTokenId));
        Assert.Equal([2], config.EosTokenIds);
        Assert.Equal(3, config.NumLabels);
        Assert.Equal("LABEL_2", config.Id2Label[2]);
        Assert.Equal(1, config.Label2Id["LABEL_1"]);
        Assert.Equal(ProblemType.SingleLabelClassification, config.ProblemType);
        Assert.Equal("absolute", config.PositionEmbeddingType);
    }

    [Fact]
    public void LlamaFixture_ParsesEveryField()
    {
        var config = LlamaConfig.Load(LlamaFixture);
        Assert.Equal("llama", config.ModelType);
        Assert.Equal(["LlamaForCausalLM"], config.Architectures);
        Assert.Equal((120, 32, 2, 4, 64), (config.VocabSize, config.HiddenSize, config.NumHiddenLayers, config.NumAttentionHeads, config.IntermediateSize));
        Assert.Equal(2, config.NumKeyValueHeads);
        Assert.Equal(8, config.HeadDim);
        Assert.Equal(1e-6, config.RmsNormEps);
        Assert.Equal(10000.0, config.RopeTheta);
        Assert.Null(config.RopeScaling);
        Assert.Equal(64, config.MaxPositionEmbeddings);
        Assert.False(config.TieWordEmbeddings);
        Assert.False(config.AttentionBias);
        Assert.False(config.MlpBias);
        Assert.Null(config.PadTokenId);
        Assert.Equal(1, config.BosTokenId);
        Assert.Equal([2], config.EosTokenIds);
        Assert.Equal(2, config.NumLabels);
        Assert.Null(config.ProblemType);
        Assert.Null(config.SlidingWindow);
        // theta^(-2i/d) for d = 8: 10000^0, 10000^-1/4, 10000^-1/2, 10000^-3/4.
        Assert.Equal([1f, 0.1f, 0.01f, 0.001f], config.RopeInverseFrequencies(), (a, b) => MathF.Abs(a - b) <= 1e-6f * b);
    }

    [Theory]
    [InlineData("roberta_cls__base")]
    [InlineData("llama_lm__base")]
    public void UnchangedFixture_RewritesByteForByte(string caseName)
    {
        var original = TestFiles.Fixture("peft", caseName, "base", "config.json");
        using var dir = new TempDirectory();
        ModelConfig.Load(original).Save(dir.Path);
        Assert.Equal(File.ReadAllText(original), File.ReadAllText(dir.File("config.json")));
    }

    [Fact]
    public void ChangedConfig_SavesChangesAndKeepsUnknownKeys()
    {
        var config = RobertaConfig.Load(RobertaFixture) with
        {
            HiddenDropoutProb = 0.1,
            LayerNormEps = 1e-5,
            Id2Label = ModelConfig.DefaultLabels(5),
            Label2Id = ModelConfig.DefaultLabels(5).ToDictionary(kv => kv.Value, kv => kv.Key),
            ProblemType = ProblemType.Regression,
        };
        using var dir = new TempDirectory();
        config.Save(dir.Path);
        var text = File.ReadAllText(dir.File("config.json"));
        Assert.Contains("\"layer_norm_eps\": 1e-05,", text);
        Assert.Contains("\"hidden_dropout_prob\": 0.1,", text);
        Assert.Contains("\"transformers_version\": \"4.46.3\"", text);
        Assert.Contains("\"use_cache\": true", text);

        var reloaded = RobertaConfig.Load(dir.File("config.json"));
        Assert.Equal(5, reloaded.NumLabels);
        Assert.Equal(ProblemType.Regression, reloaded.ProblemType);
        Assert.Equal(1e-5, reloaded.LayerNormEps);
        Assert.Equal(config with { Source = null }, reloaded with { Source = null, Id2Label = config.Id2Label, Label2Id = config.Label2Id, Architectures = config.Architectures, EosTokenIds = config.EosTokenIds });
    }

    [Fact]
    public void ConfigBuiltInCode_WritesOnlyWhatDiffersFromDefaults()
    {
        var config = RobertaConfig.Default("bert") with { NumHiddenLayers = 4 };
        var json = config.ToJson();
        Assert.Equal(["model_type", "num_hidden_layers"], json.Select(kv => kv.Key).Order());
        Assert.Equal(config with { Source = null }, ModelConfig.Parse(json.ToJsonString()) with
        {
            Source = null, Id2Label = config.Id2Label, Label2Id = config.Label2Id, Architectures = config.Architectures,
            EosTokenIds = config.EosTokenIds,
        });
    }

    [Fact]
    public void Defaults_DependOnModelType()
    {
        var bert = Assert.IsType<RobertaConfig>(ModelConfig.Parse("{\"model_type\": \"bert\"}"));
        Assert.Equal((0, (int?)null), (bert.PadTokenId, bert.BosTokenId));
        Assert.Empty(bert.EosTokenIds);
        Assert.Equal(2, bert.NumLabels);
        Assert.Equal(2, bert.TypeVocabSize);

        var roberta = Assert.IsType<RobertaConfig>(ModelConfig.Parse("{\"model_type\": \"roberta\", \"num_labels\": 5}"));
        Assert.Equal(1, roberta.PadTokenId);
        Assert.Equal(5, roberta.NumLabels);
        Assert.Equal("LABEL_4", roberta.Id2Label[4]);
        Assert.Equal(4, roberta.Label2Id["LABEL_4"]);

        var llama = Assert.IsType<LlamaConfig>(ModelConfig.Parse("{\"model_type\": \"llama\", \"hidden_size\": 64, \"num_attention_heads\": 4}"));
        Assert.Equal((4, 16), (llama.NumKeyValueHeads, llama.HeadDim));

        var mistral = Assert.IsType<LlamaConfig>(ModelConfig.Parse("{\"model_type\": \"mistral\"}"));
        Assert.Equal((8, 14336, 4096), (mistral.NumKeyValueHeads, mistral.IntermediateSize, mistral.SlidingWindow));

        var xlmr = Assert.IsType<RobertaConfig>(ModelConfig.Parse("{\"architectures\": [\"XLMRobertaForMaskedLM\"]}"));
        Assert.Equal("xlm-roberta", xlmr.ModelType);
        var fromArchitecture = Assert.IsType<LlamaConfig>(ModelConfig.Parse("{\"architectures\": [\"LlamaForSequenceClassification\"], \"pad_token_id\": 0}"));
        Assert.Equal(0, fromArchitecture.PadTokenId);
    }

    /// <summary>
    /// transformers 5 writes theta and scaling as one rope_parameters object; read as 4.x's keys, theta would fall back
    /// to 10000 and the scaling vanish, silently. Where a 4.x rope_scaling has both "type" and "rope_type", 4.x copies
    /// "type" over the other.
    /// </summary>
    [Fact]
    public void RotarySettings_ReadFromTransformers5sRopeParameters_AndTypeWinsOverRopeType()
    {
        var v5 = Assert.IsType<LlamaConfig>(ModelConfig.Parse("""
            {"model_type": "llama", "rope_parameters": {"rope_type": "llama3", "rope_theta": 500000.0, "factor": 32.0,
             "low_freq_factor": 1.0, "high_freq_factor": 4.0, "original_max_position_embeddings": 8192}}
            """));
        Assert.Equal(500000, v5.RopeTheta);
        Assert.Equal((RopeType.Llama3, 32.0, 8192), (v5.RopeScaling!.Type, v5.RopeScaling.Factor, v5.RopeScaling.OriginalMaxPositionEmbeddings));
        var plain = Assert.IsType<LlamaConfig>(ModelConfig.Parse("""{"model_type": "llama", "rope_parameters": {"rope_type": "default", "rope_theta": 1000000.0}}"""));
        Assert.Equal(1000000, plain.RopeTheta);

        var both = Assert.IsType<LlamaConfig>(ModelConfig.Parse("""{"model_type": "llama", "rope_scaling": {"type": "linear", "rope_type": "default", "factor": 2.0}}"""));
        Assert.Equal(RopeType.Linear, both.RopeScaling!.Type);

        var mistral = Assert.IsType<LlamaConfig>(ModelConfig.Parse("""{"model_type": "mistral", "num_attention_heads": 32, "num_key_value_heads": null}"""));
        Assert.Equal(32, mistral.NumKeyValueHeads);
    }

    /// <summary>LLaMA-1's configs say pad_token_id -1 for "no pad token"; as an id it would pad rows outside the vocabulary.</summary>
    [Fact]
    public void ANegativePadTokenId_MeansNone()
    {
        var config = ModelConfig.Parse("""{"model_type": "llama", "pad_token_id": -1}""");
        Assert.Null(config.PadTokenId);
        Assert.Equal(0, config.PaddingIndex);
    }

    [Fact]
    public void UnknownModelType_NamesFileTypeAndSupportedOnes()
    {
        using var dir = new TempDirectory();
        var path = dir.File("config.json");
        File.WriteAllText(path, "{\"model_type\": \"gpt2\", \"n_embd\": 768}");
        var e = Assert.Throws<ModelConfigException>(() => ModelConfig.Load(path));
        Assert.Equal(path, e.File);
        Assert.Contains(path, e.Message);
        Assert.Contains("'gpt2'", e.Message);
        Assert.Contains("roberta", e.Message);
        Assert.Contains("llama", e.Message);

        File.WriteAllText(path, "{\"architectures\": [\"GPT2LMHeadModel\"]}");
        e = Assert.Throws<ModelConfigException>(() => ModelConfig.Load(path));
        Assert.Contains("GPT2LMHeadModel", e.Message);

        Assert.Throws<ModelConfigException>(() => LlamaConfig.Load(RobertaFixture));
    }

    [Theory]
    [InlineData("{\"model_type\": \"roberta\", \"hidden_size\": \"big\"}", "hidden_size")]
    [InlineData("{\"model_type\": \"roberta\", \"hidden_size\": 30, \"num_attention_heads\": 4}", "multiple")]
    [InlineData("{\"model_type\": \"roberta\", \"problem_type\": \"ranking\"}", "ranking")]
    [InlineData("{\"model_type\": \"roberta\", \"id2label\": {\"0\": \"a\", \"2\": \"b\"}}", "id2label")]
    [InlineData("{\"model_type\": \"roberta\", \"num_labels\": 3, \"id2label\": {\"0\": \"a\"}}", "num_labels")]
    [InlineData("{\"model_type\": \"llama\", \"num_attention_heads\": 32, \"num_key_value_heads\": 6}", "num_key_value_heads")]
    [InlineData("{\"model_type\": \"llama\", \"rope_scaling\": {\"rope_type\": \"llama3\", \"factor\": 8.0}}", "low_freq_factor")]
    [InlineData("{\"model_type\": \"llama\", \"rope_scaling\": {\"rope_type\": \"ntk-by-parts\", \"factor\": 8.0}}", "ntk-by-parts")]
    [InlineData("{\"model_type\": \"llama\", \"eos_token_id\": [1, \"x\"]}", "eos_token_id")]
    [InlineData("{\"model_type\": \"roberta\", \"position_embedding_type\": \"relative_key\"}", "relative_key")]
    [InlineData("{\"model_type\": \"llama\", \"rope_parameters\": {\"rope_type\": \"llama3\", \"factor\": 8.0}}", "rope_parameters")]
    [InlineData("{\"model_type\": \"llama\", \"num_attention_heads\": 0, \"head_dim\": 64}", "\"num_attention_heads\" is 0")]
    [InlineData("{\"model_type\": \"llama\", \"vocab_size\": 100, \"pad_token_id\": 100}", "pad_token_id 100 is outside the vocabulary of 100")]
    [InlineData("{\"model_type\": \"roberta\", \"hidden_act\": \"gelu_fast\"}", "hidden_act 'gelu_fast' is not supported")]
    [InlineData("{\"model_type\": \"llama\", \"rms_norm_eps\": 0}", "\"rms_norm_eps\" is 0; it must be positive")]
    [InlineData("{\"model_type\": \"llama\", \"rope_theta\": -1}", "\"rope_theta\" is -1; it must be positive")]
    [InlineData("{\"model_type\": \"roberta\", \"layer_norm_eps\": 0}", "\"layer_norm_eps\" is 0; it must be positive")]
    [InlineData("{\"model_type\": \"llama\", \"hidden_size\": 64, \"hidden_size\": 128}", "hidden_size")]
    [InlineData("[1, 2]", "object")]
    [InlineData("{\"model_type\": ", "JSON")]
    public void BadValues_NameTheKey(string json, string expected)
    {
        var e = Assert.Throws<ModelConfigException>(() => ModelConfig.Parse(json, "test/config.json"));
        Assert.StartsWith("test/config.json: ", e.Message);
        Assert.Contains(expected, e.Message);
    }

    [Theory]
    [InlineData(1e-12, "1e-12")]
    [InlineData(1e-5, "1e-05")]
    [InlineData(1e-6, "1e-06")]
    [InlineData(1.5e-7, "1.5e-07")]
    [InlineData(0.0001, "0.0001")]
    [InlineData(0.1, "0.1")]
    [InlineData(0.02, "0.02")]
    [InlineData(0.0, "0.0")]
    [InlineData(-0.0, "-0.0")]
    [InlineData(1.0, "1.0")]
    [InlineData(10000.0, "10000.0")]
    [InlineData(500000.0, "500000.0")]
    [InlineData(123.456, "123.456")]
    [InlineData(-2.5, "-2.5")]
    [InlineData(1e15, "1000000000000000.0")]
    [InlineData(1e16, "1e+16")]
    [InlineData(2.5e20, "2.5e+20")]
    public void FloatsAreWrittenAsPythonReprs(double value, string expected)
    {
        Assert.Equal(expected, ConfigWriter.PythonFloat(value));
    }
}
