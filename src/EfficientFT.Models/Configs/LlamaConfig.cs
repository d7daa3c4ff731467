using System.Text.Json.Nodes;

namespace EfficientFT.Models.Configs;

/// <summary>
/// A LLaMA-family decoder config (LLaMA 1-3, Mistral): RMSNorm, rotary positions, grouped-query attention, SwiGLU.
/// Defaults are transformers' for the model type.
/// </summary>
public sealed record LlamaConfig : ModelConfig
{
    /// <summary>Key/value heads; fewer than query heads means grouped-query attention.</summary>
    public required int NumKeyValueHeads { get; init; }

    /// <summary>Width of one attention head (defaults to hidden_size / num_attention_heads).</summary>
    public required int HeadDim { get; init; }

    public double RmsNormEps { get; init; } = 1e-6;

    public double RopeTheta { get; init; } = 10000;

    public RopeScaling? RopeScaling { get; init; }

    /// <summary>Whether the q/k/v/o projections carry biases.</summary>
    public bool AttentionBias { get; init; }

    public double AttentionDropout { get; init; }

    /// <summary>Whether the gate/up/down projections carry biases.</summary>
    public bool MlpBias { get; init; }

    /// <summary>Mistral's sliding attention window in tokens; null attends to the whole context.</summary>
    public int? SlidingWindow { get; init; }

    /// <summary>transformers' defaults for <paramref name="modelType"/> (llama or mistral).</summary>
    public static LlamaConfig Default(string modelType = "llama")
    {
        var mistral = modelType == "mistral";
        return new LlamaConfig
        {
            ModelType = modelType,
            VocabSize = 32000,
            HiddenSize = 4096,
            NumHiddenLayers = 32,
            NumAttentionHeads = 32,
            NumKeyValueHeads = mistral ? 8 : 32,
            HeadDim = 128,
            IntermediateSize = mistral ? 14336 : 11008,
            HiddenAct = "silu",
            MaxPositionEmbeddings = mistral ? 4096 * 32 : 2048,
            BosTokenId = 1,
            EosTokenIds = [2],
            SlidingWindow = mistral ? 4096 : null,
        };
    }

    /// <summary>Reads a LLaMA/Mistral config.json; see <see cref="ModelConfig.Load"/>.</summary>
    public static new LlamaConfig Load(string path) => ModelConfig.Load(path) as LlamaConfig
        ?? throw new ModelConfigException(path, "is not a LLaMA config (model_type llama or mistral).");

    /// <summary>
    /// The rotary inverse frequencies, one per pair of head dimensions (HeadDim / 2), computed in float32 in the order
    /// transformers' <c>modeling_rope_utils</c> uses so that the tables match torch's:
    /// <code>
    /// default:  inv_freq[i] = 1 / theta^(2i / d)                                    (_compute_default_rope_parameters)
    /// linear:   inv_freq[i] / factor
    /// llama3:   wavelen = 2π / inv_freq, L = original_max_position_embeddings     (_compute_llama3_parameters)
    ///           wavelen &lt; L / high_freq_factor  → inv_freq                        (high frequencies kept)
    ///           wavelen &gt; L / low_freq_factor   → inv_freq / factor               (low frequencies scaled)
    ///           otherwise s = (L / wavelen − low_freq_factor) / (high_freq_factor − low_freq_factor),
    ///                     (1 − s) · inv_freq / factor + s · inv_freq                 (smooth blend)
    /// </code>
    /// Dynamic, yarn and longrope scaling are not implemented and throw.
    /// </summary>
    public float[] RopeInverseFrequencies()
    {
        var d = HeadDim;
        var inv = new float[d / 2];
        var theta = (float)RopeTheta;
        for (var i = 0; i < inv.Length; i++)
        {
            // torch: arange(0, d, 2).float() / d, then base ** that, then its reciprocal.
            var exponent = (float)(2 * i) / d;
            inv[i] = 1f / MathF.Pow(theta, exponent);
        }

        switch (RopeScaling?.Type ?? RopeType.Default)
        {
            case RopeType.Default:
                return inv;
            case RopeType.Linear:
                var linear = (float)RopeScaling!.Factor;
                for (var i = 0; i < inv.Length; i++) inv[i] /= linear;
                return inv;
            case RopeType.Llama3:
                return ScaleLlama3(inv, RopeScaling!);
            default:
                throw new NotSupportedException(
                    $"rope_scaling type '{RopeScaling!.Type}' is not implemented; supported: default, linear, llama3.");
        }
    }

    private static float[] ScaleLlama3(float[] inv, RopeScaling s)
    {
        var factor = (float)s.Factor;
        var low = s.LowFreqFactor!.Value;
        var high = s.HighFreqFactor!.Value;
        double oldContext = s.OriginalMaxPositionEmbeddings!.Value;
        var lowFreqWavelen = (float)(oldContext / low);
        var highFreqWavelen = (float)(oldContext / high);
        var twoPi = (float)(2 * Math.PI);
        var result = new float[inv.Length];
        for (var i = 0; i < inv.Length; i++)
        {
            // torch evaluates scalar / tensor as tensor.reciprocal() * scalar, and so does this.
            var wavelen = 1f / inv[i] * twoPi;
            var scaled = wavelen > lowFreqWavelen ? inv[i] / factor : inv[i];
            var medium = !(wavelen < highFreqWavelen) && !(wavelen > lowFreqWavelen);
            if (medium)
            {
                var smooth = (1f / wavelen * (float)oldContext - (float)low) / (float)(high - low);
                scaled = (1f - smooth) * scaled / factor + smooth * scaled;
            }
            result[i] = scaled;
        }
        return result;
    }

    /// <summary>Mistral's sliding window is not implemented, so rows must fit inside it (where everything is attended anyway).</summary>
    public override int? MaxTokens => SlidingWindow;

    internal static LlamaConfig Read(ConfigReader r, string modelType)
    {
        var d = Default(modelType);
        var common = ReadCommon(r, d);
        // transformers 5 writes the rotary settings, theta included, as one "rope_parameters" object; 4.x wrote
        // rope_theta and rope_scaling. Theta read from the wrong place would fall back to 10000 without a word.
        var rope = r.Json["rope_parameters"] switch
        {
            null => null,
            JsonObject o => new ConfigReader(o, r.File),
            var other => throw r.Error($"rope_parameters is {other.ToJsonString()}, not an object."),
        };
        var config = common with
        {
            ModelType = modelType,
            // MistralConfig's default is 8 key/value heads, but an explicit null means one per attention head.
            NumKeyValueHeads = r.Int("num_key_value_heads",
                modelType == "mistral" && !r.Json.ContainsKey("num_key_value_heads") ? d.NumKeyValueHeads : common.NumAttentionHeads),
            // Guarded: num_attention_heads 0 is reported by ValidateCommon, not as a division by zero.
            HeadDim = r.Int("head_dim", common.NumAttentionHeads > 0 ? common.HiddenSize / common.NumAttentionHeads : 0),
            RmsNormEps = r.Double("rms_norm_eps", d.RmsNormEps),
            RopeTheta = rope?.OptionalDouble("rope_theta") ?? r.Double("rope_theta", d.RopeTheta),
            RopeScaling = rope != null ? ReadRopeScaling(r, rope, "rope_parameters") : r.Json["rope_scaling"] switch
            {
                null => null,
                JsonObject o => ReadRopeScaling(r, new ConfigReader(o, r.File), "rope_scaling"),
                var other => throw r.Error($"rope_scaling is {other.ToJsonString()}, not an object."),
            },
            AttentionBias = r.Bool("attention_bias", d.AttentionBias),
            AttentionDropout = r.Double("attention_dropout", d.AttentionDropout),
            MlpBias = r.Bool("mlp_bias", d.MlpBias),
            SlidingWindow = r.Json.ContainsKey("sliding_window") ? r.OptionalInt("sliding_window") : d.SlidingWindow,
        };
        config.ValidateCommon(r);
        RequirePositive(r, "rms_norm_eps", config.RmsNormEps);
        RequirePositive(r, "rope_theta", config.RopeTheta);
        if (config.NumKeyValueHeads <= 0 || config.NumAttentionHeads % config.NumKeyValueHeads != 0)
            throw r.Error($"num_attention_heads {config.NumAttentionHeads} is not a multiple of num_key_value_heads {config.NumKeyValueHeads}.");
        if (config.HeadDim <= 0 || config.HeadDim % 2 != 0)
            throw r.Error($"head_dim {config.HeadDim} must be positive and even: rotary embeddings rotate pairs of dimensions.");
        return config;
    }

    /// <param name="inner">The rope_scaling or rope_parameters object.</param>
    /// <param name="field">Its key, for messages.</param>
    private static RopeScaling? ReadRopeScaling(ConfigReader r, ConfigReader inner, string field)
    {
        var obj = inner.Json;
        // "type" is the key's name before transformers 4.42 renamed it to "rope_type"; where both are there, 4.x copies
        // "type" over "rope_type", so "type" wins.
        var name = inner.OptionalString("type") ?? inner.OptionalString("rope_type")
            ?? (field == "rope_parameters" ? "default" : throw r.Error("rope_scaling has neither \"rope_type\" nor \"type\"."));
        var type = name switch
        {
            "default" => RopeType.Default,
            "linear" => RopeType.Linear,
            "dynamic" => RopeType.Dynamic,
            "yarn" => RopeType.Yarn,
            "longrope" => RopeType.LongRope,
            "llama3" => RopeType.Llama3,
            _ => throw r.Error($"{field} type '{name}' is unknown; known: default, linear, dynamic, yarn, longrope, llama3."),
        };
        var required = type switch
        {
            RopeType.Llama3 => new[] { "factor", "low_freq_factor", "high_freq_factor", "original_max_position_embeddings" },
            RopeType.Linear or RopeType.Dynamic or RopeType.Yarn => ["factor"],
            _ => [],
        };
        foreach (var key in required)
            if (!inner.Has(key)) throw r.Error($"{field} of type '{name}' needs \"{key}\".");
        var scaling = new RopeScaling
        {
            Type = type,
            Factor = inner.Double("factor", 1),
            LowFreqFactor = inner.OptionalDouble("low_freq_factor"),
            HighFreqFactor = inner.OptionalDouble("high_freq_factor"),
            OriginalMaxPositionEmbeddings = inner.OptionalInt("original_max_position_embeddings"),
            Source = obj,
        };
        if (type == RopeType.Llama3 && scaling.HighFreqFactor <= scaling.LowFreqFactor)
            throw r.Error($"{field} high_freq_factor {scaling.HighFreqFactor} must exceed low_freq_factor {scaling.LowFreqFactor}.");
        return scaling;
    }

    private protected override ModelConfig Defaults() => Default(ModelType) with
    {
        NumKeyValueHeads = ModelType == "mistral" ? 8 : NumAttentionHeads,
        HeadDim = HiddenSize / NumAttentionHeads,
    };

    private protected override void WriteSpecific(ConfigWriter w)
    {
        var d = (LlamaConfig)Defaults();
        w.Set("num_key_value_heads", NumKeyValueHeads, d.NumKeyValueHeads);
        w.Set("head_dim", HeadDim, d.HeadDim);
        w.Set("rms_norm_eps", RmsNormEps, d.RmsNormEps);
        w.Set("rope_theta", RopeTheta, d.RopeTheta);
        w.Set("attention_bias", AttentionBias, d.AttentionBias);
        w.Set("attention_dropout", AttentionDropout, d.AttentionDropout);
        w.Set("mlp_bias", MlpBias, d.MlpBias);
        w.Set("sliding_window", SlidingWindow, d.SlidingWindow);
        w.SetNode("rope_scaling", RopeScalingJson(), RopeScaling is null);
    }

    private JsonObject? RopeScalingJson()
    {
        if (RopeScaling is not { } s) return null;
        var obj = (JsonObject?)s.Source?.DeepClone() ?? new JsonObject();
        // Read from transformers 5's rope_parameters, theta was among them; it is written at the top level.
        obj.Remove("rope_theta");
        var w = new ConfigWriter(obj);
        var typeKey = obj.ContainsKey("rope_type") || !obj.ContainsKey("type") ? "rope_type" : "type";
        w.Set(typeKey, RopeScaling.Name(s.Type), null);
        if (obj.ContainsKey("type")) w.Set("type", RopeScaling.Name(s.Type), null);
        // Every scaled type needs its factor in the file, even a factor of 1.
        w.SetNode("factor", JsonNode.Parse(ConfigWriter.PythonFloat(s.Factor)), s.Type == RopeType.Default && s.Factor == 1);
        w.Set("low_freq_factor", s.LowFreqFactor, null);
        w.Set("high_freq_factor", s.HighFreqFactor, null);
        w.Set("original_max_position_embeddings", s.OriginalMaxPositionEmbeddings, null);
        return obj;
    }
}
