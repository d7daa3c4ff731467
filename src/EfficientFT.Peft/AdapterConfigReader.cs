using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace EfficientFT.Peft;

/// <summary>adapter_config.json, as peft writes it, back into <see cref="PeftOptions"/>.</summary>
public static class AdapterConfigReader
{
    /// <summary>Our key for MPC_n's gain: peft's config has no field that says an adapter is nonlinear.</summary>
    public const string MpcNonlinearGainKey = "eft_mpc_nonlinear_gain";

    /// <summary>The seed of a pissa_niter_k adapter's randomized SVD, which its residual needs to be rebuilt exactly.</summary>
    public const string PissaSeedKey = "eft_pissa_seed";

    /// <summary>
    /// Appended to an adapter's peft_type ("EFT_LORA_MPC_NONLINEAR") when MPC_n changes the function it computes: peft
    /// then refuses the file instead of loading a linear adapter that computes something else.
    /// </summary>
    public const string MpcNonlinearSuffix = "_MPC_NONLINEAR";

    public static PeftOptions Read(string path)
    {
        var config = Parse(path);
        try
        {
            return FromJson(config);
        }
        catch (Exception e) when (e is InvalidOperationException or FormatException or InvalidDataException or NotSupportedException)
        {
            throw new InvalidDataException($"{path}: {e.Message}", e);
        }
    }

    /// <summary>The adapter's task_type ("SEQ_CLS", "CAUSAL_LM"), or null where it names none.</summary>
    public static string? TaskType(string path) =>
        Parse(path)["task_type"] is JsonValue type && type.GetValueKind() == JsonValueKind.String ? type.GetValue<string>() : null;

    private static JsonObject Parse(string path)
    {
        try
        {
            return JsonNode.Parse(File.ReadAllText(path)) as JsonObject ?? throw new InvalidDataException($"{path}: the file is not a JSON object");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}: {e.Message}", e);
        }
    }

    public static PeftOptions FromJson(JsonObject config)
    {
        var type = config["peft_type"]?.GetValue<string>() ?? throw new InvalidDataException("no peft_type");
        if (type.StartsWith("EFT_", StringComparison.Ordinal) && type.EndsWith(MpcNonlinearSuffix, StringComparison.Ordinal))
        {
            if (config[MpcNonlinearGainKey] is not JsonValue)
                throw new InvalidDataException($"peft_type {type} without the {MpcNonlinearGainKey} its function needs");
            type = type["EFT_".Length..^MpcNonlinearSuffix.Length];
        }
        RefuseUnsupported(config);
        var targets = Targets(config);
        return type switch
        {
            "LORA" => LoraOptions(config, targets) with { Mpc = NonlinearMpc(config) },
            "ADALORA" => ReadAdaLora(config, targets) with { Mpc = NonlinearMpc(config) },
            "IA3" => new PeftOptions
            {
                Method = "ia3",
                Targets = targets,
                FeedForwardModules = config["feedforward_modules"] switch
                {
                    JsonArray a => Items<string>(a, "feedforward_modules"),
                    null => null,
                    _ => throw new NotSupportedException("feedforward_modules as a regular expression is not supported; list the module names."),
                },
            },
            "VERA" => new PeftOptions
            {
                Method = "vera",
                Targets = targets,
                Rank = config["r"]?.GetValue<int>() ?? 256,
                Dropout = config["vera_dropout"] is { } dropout ? Number(dropout) : 0,
                VeraInitialD = config["d_initial"] is { } initialD ? Number(initialD) : 0.1,
                ProjectionSeed = config["projection_prng_key"] is { } key ? ulong.Parse(key.ToJsonString(), CultureInfo.InvariantCulture) : 0,
            },
            "EFT_FULL_FT" => new PeftOptions { Method = "full_ft", Targets = targets },
            "EFT_GALORE" => new PeftOptions { Method = "galore", Targets = targets },
            "EFT_BITFIT" => new PeftOptions { Method = "bitfit", Targets = targets },
            "EFT_SSL" => new PeftOptions { Method = "ssl", Targets = targets },
            "EFT_SSB" => new PeftOptions { Method = "ssb", Targets = targets },
            _ => throw new NotSupportedException($"peft_type {type} is not supported (supported: LORA, ADALORA, IA3, VERA, EFT_FULL_FT, EFT_GALORE, EFT_BITFIT, EFT_SSL, EFT_SSB)."),
        };
    }

    /// <summary>
    /// peft settings that add trained tensors or change which modules are adapted, which this reader would otherwise
    /// drop without a word: the adapter would then load as something else than what was trained.
    /// </summary>
    private static void RefuseUnsupported(JsonObject config)
    {
        if (config["bias"] is { } bias && bias.GetValue<string>() != "none")
            throw new NotSupportedException($"bias \"{bias.GetValue<string>()}\" (trained biases) is not supported; only \"none\" is.");
        if (config["lora_bias"] is { } flag && flag.GetValueKind() == JsonValueKind.True)
            throw new NotSupportedException("lora_bias (a trained bias on lora_B) is not supported.");
        foreach (var key in (ReadOnlySpan<string>)["exclude_modules", "trainable_token_indices"])
            if (config[key] is { } value && value.GetValueKind() != JsonValueKind.Null && value is not JsonArray { Count: 0 } && !(value.GetValueKind() == JsonValueKind.String && value.GetValue<string>().Length == 0))
                throw new NotSupportedException($"{key} is not supported.");
        // layers_to_transform counts the blocks of a list named like this; TargetSpec.LayerOf finds those it knows.
        var layerLists = config["layers_pattern"] switch
        {
            null => [],
            JsonArray a => Items<string>(a, "layers_pattern"),
            var v when v.GetValueKind() == JsonValueKind.String => [v.GetValue<string>()],
            _ => throw new InvalidDataException("layers_pattern is neither a name nor a list of names"),
        };
        if (layerLists.FirstOrDefault(l => l.Length > 0 && !TargetSpec.LayerListNames.Contains(l)) is { } unknown)
            throw new NotSupportedException($"layers_pattern \"{unknown}\" is not supported ({string.Join(", ", TargetSpec.LayerListNames)} are).");
    }

    private static PeftOptions LoraOptions(JsonObject config, TargetSpec targets)
    {
        var init = config["init_lora_weights"];
        var initName = init?.GetValueKind() == JsonValueKind.String ? init.GetValue<string>() : null;
        int? iterations = initName?.StartsWith("pissa_niter_", StringComparison.Ordinal) == true
            ? int.Parse(initName["pissa_niter_".Length..], CultureInfo.InvariantCulture)
            : null;
        var initialisation = initName switch
        {
            null or "gaussian" => "lora",
            "pissa" or "olora" or "eva" => initName,
            _ when iterations != null => "pissa",
            _ => throw new NotSupportedException($"init_lora_weights '{initName}' is not supported."),
        };
        var method = PeftMethods.LoraName(initialisation, config["use_rslora"]?.GetValue<bool>() == true, config["use_dora"]?.GetValue<bool>() == true);
        return new PeftOptions
        {
            Method = method,
            Targets = targets,
            Rank = config["r"]?.GetValue<int>() ?? 8,
            Alpha = config["lora_alpha"] is { } alpha ? Number(alpha) : 8,
            Dropout = config["lora_dropout"] is { } dropout ? Number(dropout) : 0,
            PissaIterations = iterations,
            Seed = config[PissaSeedKey] is JsonValue seed ? seed.GetValue<ulong>() : 0,
            RankPattern = Pattern(config["rank_pattern"], n => n.GetValue<int>()),
            AlphaPattern = Pattern(config["alpha_pattern"], Number),
            Eva = config["eva_config"] is JsonObject eva ? EvaOptions(eva) : new EvaOptions(),
        };
    }

    /// <summary>A pattern object in file order, which is the order peft tries its keys in.</summary>
    private static Dictionary<string, T> Pattern<T>(JsonNode? node, Func<JsonNode, T> value) => node switch
    {
        JsonObject o => o.ToDictionary(p => p.Key, p => value(p.Value ?? throw new InvalidDataException($"pattern entry {p.Key} is null"))),
        null => [],
        _ => throw new InvalidDataException("rank_pattern and alpha_pattern must be objects"),
    };

    /// <summary>Any JSON number as a double, whether parsed (8, 6.0) or built in code from an int.</summary>
    private static double Number(JsonNode node) => double.Parse(node.ToJsonString(), CultureInfo.InvariantCulture);

    private static EvaOptions EvaOptions(JsonObject eva)
    {
        var defaults = new EvaOptions();
        return new EvaOptions
        {
            Rho = eva["rho"] is { } rho ? Number(rho) : defaults.Rho,
            Tau = eva["tau"] is { } tau ? Number(tau) : defaults.Tau,
            Whiten = eva["whiten"]?.GetValue<bool>() ?? defaults.Whiten,
            AdjustScalingFactors = eva["adjust_scaling_factors"]?.GetValue<bool>() ?? defaults.AdjustScalingFactors,
            UseLabelMask = eva["use_label_mask"]?.GetValue<bool>() ?? defaults.UseLabelMask,
            LabelMaskValue = eva["label_mask_value"]?.GetValue<int>() ?? defaults.LabelMaskValue,
        };
    }

    private static PeftOptions ReadAdaLora(JsonObject config, TargetSpec targets)
    {
        if (config["alpha_pattern"] is JsonObject { Count: > 0 })
            throw new NotSupportedException("alpha_pattern is not supported yet.");
        var defaults = new AdaLoraOptions();
        Dictionary<string, bool[]>? rankPattern = null;
        if (config["rank_pattern"] is JsonObject pattern)
        {
            rankPattern = [];
            foreach (var (key, kept) in pattern)
                rankPattern[RankPatternModule(key)] = (kept as JsonArray ?? throw new InvalidDataException($"rank_pattern[{key}] is not a list"))
                    .Select(k => Item<bool>(k, $"rank_pattern[{key}]")).ToArray();
        }
        return new PeftOptions
        {
            Method = "adalora",
            Targets = targets,
            Rank = config["r"]?.GetValue<int>() ?? 8,
            Alpha = config["lora_alpha"]?.GetValue<double>() ?? 8,
            Dropout = config["lora_dropout"]?.GetValue<double>() ?? 0,
            AdaLora = new AdaLoraOptions
            {
                InitR = config["init_r"]?.GetValue<int>() ?? defaults.InitR,
                TargetR = config["target_r"]?.GetValue<int>() ?? defaults.TargetR,
                Tinit = config["tinit"]?.GetValue<int>() ?? defaults.Tinit,
                Tfinal = config["tfinal"]?.GetValue<int>() ?? defaults.Tfinal,
                DeltaT = config["deltaT"]?.GetValue<int>() ?? defaults.DeltaT,
                Beta1 = config["beta1"]?.GetValue<double>() ?? defaults.Beta1,
                Beta2 = config["beta2"]?.GetValue<double>() ?? defaults.Beta2,
                OrthRegWeight = config["orth_reg_weight"]?.GetValue<double>() ?? defaults.OrthRegWeight,
                TotalStep = config["total_step"]?.GetValue<int>(),
                RankPattern = rankPattern,
            },
        };
    }

    /// <summary>"roberta.encoder.layer.0.attention.self.query.lora_E" (saved) or "….lora_E.default" (live) → the module path.</summary>
    private static string RankPatternModule(string key)
    {
        var trimmed = key.EndsWith(".default", StringComparison.Ordinal) ? key[..^".default".Length] : key;
        return trimmed.EndsWith(".lora_E", StringComparison.Ordinal)
            ? trimmed[..^".lora_E".Length]
            : throw new InvalidDataException($"rank_pattern key '{key}' does not name a lora_E tensor.");
    }

    private static MpcOptions? NonlinearMpc(JsonObject config) =>
        config[MpcNonlinearGainKey] is JsonValue gain ? new MpcOptions(MpcKind.Nonlinear, gain.GetValue<double>()) : null;

    private static List<T> Items<T>(JsonArray array, string field) => array.Select(n => Item<T>(n, field)).ToList();

    /// <summary>A list item's value; a null item is named, where it would otherwise fail as a null reference.</summary>
    private static T Item<T>(JsonNode? node, string field) =>
        node is null ? throw new InvalidDataException($"{field} holds a null") : node.GetValue<T>();

    private static TargetSpec Targets(JsonObject config)
    {
        var layers = config["layers_to_transform"] switch
        {
            JsonArray a => Items<int>(a, "layers_to_transform"),
            JsonValue v when v.GetValueKind() == JsonValueKind.Number => [v.GetValue<int>()],
            _ => null,
        };
        return config["target_modules"] switch
        {
            // peft loads an adapter when some of its names match (configs written for several architectures list all
            // their spellings), so a name this model lacks is no error here.
            JsonArray a => new TargetSpec(Items<string>(a, "target_modules"), null, layers) { EveryNameMatches = false },
            JsonValue v when v.GetValueKind() == JsonValueKind.String => new TargetSpec([], v.GetValue<string>(), layers),
            _ => throw new InvalidDataException("target_modules is missing"),
        };
    }
}
