using EfficientFT.Models.Configs;

namespace EfficientFT.Models.Tests.Configs;

public sealed class LlamaRopeTests
{
    /// <summary>Meta-Llama-3.1-8B's config.json as published.</summary>
    private const string Llama31 = """
        {
          "architectures": ["LlamaForCausalLM"],
          "attention_bias": false,
          "attention_dropout": 0.0,
          "bos_token_id": 128000,
          "eos_token_id": [128001, 128008, 128009],
          "hidden_act": "silu",
          "hidden_size": 4096,
          "initializer_range": 0.02,
          "intermediate_size": 14336,
          "max_position_embeddings": 131072,
          "mlp_bias": false,
          "model_type": "llama",
          "num_attention_heads": 32,
          "num_hidden_layers": 32,
          "num_key_value_heads": 8,
          "pretraining_tp": 1,
          "rms_norm_eps": 1e-05,
          "rope_scaling": {
            "factor": 8.0,
            "high_freq_factor": 4.0,
            "low_freq_factor": 1.0,
            "original_max_position_embeddings": 8192,
            "rope_type": "llama3"
          },
          "rope_theta": 500000.0,
          "tie_word_embeddings": false,
          "torch_dtype": "bfloat16",
          "transformers_version": "4.43.0.dev0",
          "use_cache": true,
          "vocab_size": 128256
        }
        """;

    [Fact]
    public void Llama31Config_Parses()
    {
        var config = Assert.IsType<LlamaConfig>(ModelConfig.Parse(Llama31));
        Assert.Equal((4096, 32, 8, 128), (config.HiddenSize, config.NumAttentionHeads, config.NumKeyValueHeads, config.HeadDim));
        Assert.Equal([128001, 128008, 128009], config.EosTokenIds);
        Assert.Equal(128000, config.BosTokenId);
        Assert.Equal(500000.0, config.RopeTheta);
        Assert.Equal(1e-5, config.RmsNormEps);
        Assert.Equal(new RopeScaling
        {
            Type = RopeType.Llama3, Factor = 8, LowFreqFactor = 1, HighFreqFactor = 4, OriginalMaxPositionEmbeddings = 8192,
        }, config.RopeScaling! with { Source = null });
    }

    /// <summary>
    /// Values worked out in double precision from the formula, with theta = 500000, d = 128, L = 8192, factor 8,
    /// low 1, high 4: inv = theta^(-2i/d), wavelen = 2π / inv. High-frequency pairs (wavelen &lt; L/4 = 2048, i ≤ 28)
    /// keep inv; low-frequency pairs (wavelen &gt; L = 8192, i ≥ 35) get inv / 8; in between
    /// s = (L / wavelen − 1) / 3 and the result is (1 − s)·inv/8 + s·inv. For example i = 30: inv = 500000^(-60/128)
    /// = 0.0021311195, wavelen = 2948.30, s = 0.59284930, result = 0.40715070 · 0.0021311195 / 8 + 0.59284930 ·
    /// 0.0021311195 = 0.0013718936.
    /// </summary>
    [Theory]
    [InlineData(0, 1.0)]                      // high: kept
    [InlineData(10, 0.12868737343265052)]     // high: kept
    [InlineData(28, 0.003211445994752591)]    // high: wavelen 1956.5 < 2048, kept
    [InlineData(29, 0.002166570763503359)]    // medium, s = 0.8036
    [InlineData(30, 0.0013718935677611381)]   // medium, s = 0.5928
    [InlineData(32, 0.0005248461609929547)]   // medium, s = 0.2813
    [InlineData(34, 0.0001785078127679964)]   // medium, s = 0.0745
    [InlineData(35, 9.556212353964683e-05)]   // low: wavelen 8218.7 > 8192, inv / 8
    [InlineData(40, 3.428102195952591e-05)]   // low
    [InlineData(63, 3.068925988914511e-07)]   // low
    public void Llama3InverseFrequencies_MatchTheFormula(int pair, double expected)
    {
        var inv = ((LlamaConfig)ModelConfig.Parse(Llama31)).RopeInverseFrequencies();
        Assert.Equal(64, inv.Length);
        var relative = Math.Abs(inv[pair] - expected) / expected;
        Assert.True(relative < 2e-6, $"pair {pair}: {inv[pair]:R} vs {expected:R} (relative error {relative:E2})");
    }

    [Fact]
    public void Llama3Scaling_IsMonotoneAndOnlyShrinksFrequencies()
    {
        var config = (LlamaConfig)ModelConfig.Parse(Llama31);
        var scaled = config.RopeInverseFrequencies();
        var plain = (config with { RopeScaling = null }).RopeInverseFrequencies();
        for (var i = 0; i < scaled.Length; i++)
        {
            Assert.InRange(scaled[i], plain[i] / 8 * (1 - 1e-6f), plain[i]);
            if (i > 0) Assert.True(scaled[i] < scaled[i - 1]);
        }
    }

    [Fact]
    public void LinearScaling_DividesEveryFrequency()
    {
        var config = LlamaConfig.Default() with
        {
            HiddenSize = 64, NumAttentionHeads = 4, NumKeyValueHeads = 4, HeadDim = 16,
            RopeScaling = new RopeScaling { Type = RopeType.Linear, Factor = 4 },
        };
        var plain = (config with { RopeScaling = null }).RopeInverseFrequencies();
        Assert.Equal(plain.Select(f => f / 4), config.RopeInverseFrequencies());
        Assert.Throws<NotSupportedException>(() =>
            (config with { RopeScaling = new RopeScaling { Type = RopeType.Yarn, Factor = 4 } }).RopeInverseFrequencies());
    }

    [Fact]
    public void Llama31_RoundTripsThroughSave()
    {
        using var dir = new TempDirectory();
        var config = (LlamaConfig)ModelConfig.Parse(Llama31);
        config.Save(dir.Path);
        var text = File.ReadAllText(dir.File("config.json"));
        Assert.Contains("\"rope_type\": \"llama3\"", text);
        Assert.Contains("\"rms_norm_eps\": 1e-05", text);
        Assert.Contains("\"torch_dtype\": \"bfloat16\"", text);
        var reloaded = LlamaConfig.Load(dir.File("config.json"));
        Assert.Equal(config.EosTokenIds, reloaded.EosTokenIds);
        Assert.Equal(config.RopeInverseFrequencies(), reloaded.RopeInverseFrequencies());

        var changed = config with { RopeScaling = config.RopeScaling! with { Factor = 16 }, EosTokenIds = [7] };
        changed.Save(dir.Path);
        reloaded = LlamaConfig.Load(dir.File("config.json"));
        Assert.Equal(16, reloaded.RopeScaling!.Factor);
        Assert.Equal(8192, reloaded.RopeScaling.OriginalMaxPositionEmbeddings);
        Assert.Equal([7], reloaded.EosTokenIds);
        Assert.Contains("\"eos_token_id\": [\n    7\n  ]", File.ReadAllText(dir.File("config.json")).Replace("\r\n", "\n"));
    }
}
