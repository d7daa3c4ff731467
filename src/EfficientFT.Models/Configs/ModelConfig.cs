using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using EfficientFT.Models.IO;

namespace EfficientFT.Models.Configs;

/// <summary>
/// A transformers config.json, typed. <see cref="Load"/> picks the concrete type from <c>model_type</c> (or, when
/// that is missing, from <c>architectures</c>); <see cref="Save"/> writes the fields back over the original JSON, so
/// keys this library does not model are kept.
/// </summary>
public abstract record ModelConfig
{
    private protected ModelConfig()
    {
    }

    /// <summary>The <c>model_type</c> string, e.g. "roberta" or "llama".</summary>
    public required string ModelType { get; init; }

    /// <summary>The model classes the checkpoint was saved from, e.g. "RobertaForSequenceClassification".</summary>
    public IReadOnlyList<string> Architectures { get; init; } = [];

    public required int VocabSize { get; init; }

    public required int HiddenSize { get; init; }

    public required int NumHiddenLayers { get; init; }

    public required int NumAttentionHeads { get; init; }

    public required int IntermediateSize { get; init; }

    /// <summary>The activation name as transformers spells it ("gelu" is the exact erf GELU, "silu", "gelu_new", ...).</summary>
    public required string HiddenAct { get; init; }

    public required int MaxPositionEmbeddings { get; init; }

    /// <summary>The most tokens a row may hold where the position table sets a hard limit; null where it does not (RoPE).</summary>
    public virtual int? MaxTokens => null;

    /// <summary>The id rows are padded with, and which the model treats as padding, where the config names none too.</summary>
    public virtual int PaddingIndex => PadTokenId ?? 0;

    public double InitializerRange { get; init; } = 0.02;

    public int? PadTokenId { get; init; }

    public int? BosTokenId { get; init; }

    /// <summary>End-of-sequence ids; one for most models, several for Llama 3 instruct.</summary>
    public IReadOnlyList<int> EosTokenIds { get; init; } = [];

    public bool TieWordEmbeddings { get; init; }

    /// <summary>Class index → label; its size is the number of labels of a classification head.</summary>
    public IReadOnlyDictionary<int, string> Id2Label { get; init; } = DefaultLabels(2);

    /// <summary>Label → class index, the inverse of <see cref="Id2Label"/>.</summary>
    public IReadOnlyDictionary<string, int> Label2Id { get; init; } = DefaultLabels(2).ToDictionary(kv => kv.Value, kv => kv.Key);

    /// <summary>The number of outputs of a classification or regression head.</summary>
    public int NumLabels => Id2Label.Count;

    /// <summary>Which loss a sequence-classification head uses; null lets the model infer it from the labels.</summary>
    public ProblemType? ProblemType { get; init; }

    /// <summary>The JSON object this was read from, overlaid by <see cref="Save"/>; null for a config built in code.</summary>
    internal JsonObject? Source { get; init; }

    /// <summary>The model types <see cref="Load"/> understands.</summary>
    public static IReadOnlyList<string> SupportedModelTypes { get; } = ["bert", "llama", "mistral", "roberta", "xlm-roberta"];

    /// <summary>
    /// Reads <paramref name="path"/> (a config.json, or a directory holding one) into a <see cref="RobertaConfig"/>
    /// (roberta, bert, xlm-roberta) or a <see cref="LlamaConfig"/> (llama, mistral).
    /// </summary>
    public static ModelConfig Load(string path)
    {
        if (Directory.Exists(path)) path = System.IO.Path.Combine(path, "config.json");
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (FileNotFoundException e)
        {
            throw new ModelConfigException(path, "no such config file.", e);
        }
        return Parse(text, path);
    }

    /// <summary>Parses config.json text; <paramref name="source"/> names it in errors.</summary>
    public static ModelConfig Parse(string json, string source = "config.json")
    {
        JsonNode? root;
        try
        {
            // A key given twice is refused at parse time, naming the file; JsonNode would otherwise throw an
            // ArgumentException without it when the key is first read.
            root = JsonNode.Parse(json, documentOptions: new JsonDocumentOptions { AllowDuplicateProperties = false });
        }
        catch (JsonException e)
        {
            throw new ModelConfigException(source, $"not valid JSON: {e.Message}", e);
        }
        if (root is not JsonObject obj) throw new ModelConfigException(source, "the config is not a JSON object.");
        var reader = new ConfigReader(obj, source);
        var modelType = ResolveModelType(reader);
        return modelType switch
        {
            "roberta" or "bert" or "xlm-roberta" => RobertaConfig.Read(reader, modelType),
            "llama" or "mistral" => LlamaConfig.Read(reader, modelType),
            _ => throw reader.Error(
                $"model_type '{modelType}' is not supported; supported: {string.Join(", ", SupportedModelTypes)}."),
        };
    }

    /// <summary>Writes config.json atomically, sorted and indented as transformers writes it.</summary>
    /// <param name="torchDtype">The dtype of the weights saved beside it, when it may differ from the source's.</param>
    public void Save(string path, string? torchDtype = null)
    {
        if (Directory.Exists(path)) path = System.IO.Path.Combine(path, "config.json");
        var json = ToJson();
        if (torchDtype != null)
        {
            json["torch_dtype"] = torchDtype;
            // Newer transformers name it dtype, and read that first.
            if (json.ContainsKey("dtype")) json["dtype"] = torchDtype;
        }
        AtomicFile.Write(path, stream => ConfigWriter.WriteSorted(json, stream));
    }

    /// <summary>The config as a JSON object: the original keys, overlaid with this record's values.</summary>
    public JsonObject ToJson()
    {
        var target = (JsonObject?)Source?.DeepClone() ?? new JsonObject();
        var w = new ConfigWriter(target);
        var d = Defaults();
        w.Set("model_type", ModelType, null);
        w.SetNode("architectures", Architectures.Count == 0 ? null : new JsonArray(Architectures.Select(a => (JsonNode?)a).ToArray()),
            Architectures.Count == 0);
        w.Set("vocab_size", VocabSize, d.VocabSize);
        w.Set("hidden_size", HiddenSize, d.HiddenSize);
        w.Set("num_hidden_layers", NumHiddenLayers, d.NumHiddenLayers);
        w.Set("num_attention_heads", NumAttentionHeads, d.NumAttentionHeads);
        w.Set("intermediate_size", IntermediateSize, d.IntermediateSize);
        w.Set("hidden_act", HiddenAct, d.HiddenAct);
        w.Set("max_position_embeddings", MaxPositionEmbeddings, d.MaxPositionEmbeddings);
        w.Set("initializer_range", InitializerRange, d.InitializerRange);
        w.Set("pad_token_id", PadTokenId, d.PadTokenId);
        w.Set("bos_token_id", BosTokenId, d.BosTokenId);
        WriteEos(w, d);
        w.Set("tie_word_embeddings", TieWordEmbeddings, d.TieWordEmbeddings);
        WriteLabels(w);
        w.Set("problem_type", ProblemType is { } p ? ProblemTypeName(p) : null, null);
        WriteSpecific(w);
        return target;
    }

    /// <summary>The config this model type has when config.json gives only model_type: what each absent key means.</summary>
    private protected abstract ModelConfig Defaults();

    private protected abstract void WriteSpecific(ConfigWriter w);

    /// <summary>Reads the keys every supported model type shares into <paramref name="config"/>, whose values are the defaults.</summary>
    private protected static T ReadCommon<T>(ConfigReader r, T config) where T : ModelConfig
    {
        var (id2Label, label2Id) = ReadLabels(r);
        return (T)((ModelConfig)config with
        {
            Architectures = r.StringList("architectures"),
            VocabSize = r.Int("vocab_size", config.VocabSize),
            HiddenSize = r.Int("hidden_size", config.HiddenSize),
            NumHiddenLayers = r.Int("num_hidden_layers", config.NumHiddenLayers),
            NumAttentionHeads = r.Int("num_attention_heads", config.NumAttentionHeads),
            IntermediateSize = r.Int("intermediate_size", config.IntermediateSize),
            HiddenAct = r.String("hidden_act", config.HiddenAct),
            MaxPositionEmbeddings = r.Int("max_position_embeddings", config.MaxPositionEmbeddings),
            InitializerRange = r.Double("initializer_range", config.InitializerRange),
            // transformers keeps an explicit null as "no such token", so only an absent key takes the default. LLaMA-1's
            // configs say -1 for the same thing; as an id it would pad rows with a token outside the vocabulary.
            PadTokenId = r.Json.ContainsKey("pad_token_id") ? r.OptionalInt("pad_token_id") is >= 0 and var pad ? pad : null : config.PadTokenId,
            BosTokenId = r.Json.ContainsKey("bos_token_id") ? r.OptionalInt("bos_token_id") : config.BosTokenId,
            EosTokenIds = r.Json.ContainsKey("eos_token_id") ? r.IntOrIntList("eos_token_id", null) : config.EosTokenIds,
            TieWordEmbeddings = r.Bool("tie_word_embeddings", config.TieWordEmbeddings),
            Id2Label = id2Label,
            Label2Id = label2Id,
            ProblemType = ReadProblemType(r),
            Source = r.Json,
        });
    }

    /// <summary>Checks shared by every model type; a violation would otherwise surface as a shape error deep in a forward pass.</summary>
    private protected void ValidateCommon(ConfigReader r)
    {
        foreach (var (key, value) in new[]
                 {
                     ("vocab_size", VocabSize), ("hidden_size", HiddenSize), ("num_hidden_layers", NumHiddenLayers),
                     ("num_attention_heads", NumAttentionHeads), ("intermediate_size", IntermediateSize),
                     ("max_position_embeddings", MaxPositionEmbeddings),
                 })
        {
            if (value <= 0) throw r.Error($"\"{key}\" is {value}; it must be positive.");
        }
        if (NumLabels == 0) throw r.Error("id2label is empty; a head needs at least one label.");
        if (PadTokenId >= VocabSize) throw r.Error($"pad_token_id {PadTokenId} is outside the vocabulary of {VocabSize}.");
        // An unknown activation would otherwise fail at the first forward pass, after the whole checkpoint loaded.
        if (!Nn.Activation.Supported.Contains(HiddenAct))
            throw r.Error($"hidden_act '{HiddenAct}' is not supported; supported: {string.Join(", ", Nn.Activation.Supported)}.");
    }

    /// <summary>A normalisation epsilon or rotary base must be positive: zero or less gives NaN without a word.</summary>
    private protected static void RequirePositive(ConfigReader r, string key, double value)
    {
        if (!(value > 0)) throw r.Error($"\"{key}\" is {value.ToString(CultureInfo.InvariantCulture)}; it must be positive.");
    }

    /// <summary>LABEL_0 .. LABEL_{n-1}, transformers' names when a config gives only num_labels.</summary>
    public static IReadOnlyDictionary<int, string> DefaultLabels(int count) =>
        Enumerable.Range(0, count).ToDictionary(i => i, i => $"LABEL_{i}");

    private static string ResolveModelType(ConfigReader r)
    {
        if (r.OptionalString("model_type") is { Length: > 0 } modelType) return modelType;
        var architectures = r.StringList("architectures");
        foreach (var a in architectures)
        {
            // Longest prefix first: XLMRoberta before Roberta.
            if (a.StartsWith("XLMRoberta", StringComparison.Ordinal)) return "xlm-roberta";
            if (a.StartsWith("Roberta", StringComparison.Ordinal)) return "roberta";
            if (a.StartsWith("Bert", StringComparison.Ordinal)) return "bert";
            if (a.StartsWith("Llama", StringComparison.Ordinal)) return "llama";
            if (a.StartsWith("Mistral", StringComparison.Ordinal)) return "mistral";
        }
        throw r.Error(architectures.Count == 0
            ? $"neither model_type nor architectures is given; supported model types: {string.Join(", ", SupportedModelTypes)}."
            : $"no model_type, and architectures [{string.Join(", ", architectures)}] name no supported model; " +
              $"supported model types: {string.Join(", ", SupportedModelTypes)}.");
    }

    private static (IReadOnlyDictionary<int, string>, IReadOnlyDictionary<string, int>) ReadLabels(ConfigReader r)
    {
        Dictionary<int, string> id2Label;
        if (r.Json["id2label"] is JsonObject map)
        {
            id2Label = [];
            foreach (var (key, value) in map)
            {
                if (!int.TryParse(key, NumberStyles.Integer, CultureInfo.InvariantCulture, out var id))
                    throw r.Error($"id2label key '{key}' is not a class index.");
                if (value is not JsonValue v || !v.TryGetValue(out string? label))
                    throw r.Error($"id2label[{key}] is {value?.ToJsonString() ?? "null"}, not a label string.");
                id2Label[id] = label;
            }
            if (!Enumerable.Range(0, id2Label.Count).All(id2Label.ContainsKey))
                throw r.Error($"id2label keys [{string.Join(", ", id2Label.Keys.Order())}] are not 0 .. {id2Label.Count - 1}.");
            if (r.OptionalInt("num_labels") is { } n && n != id2Label.Count)
                throw r.Error($"num_labels is {n} but id2label has {id2Label.Count} labels.");
        }
        else if (r.Json["id2label"] is not null)
            throw r.Error("id2label is not a JSON object.");
        else
        {
            var n = r.Int("num_labels", 2);
            if (n <= 0) throw r.Error($"num_labels is {n}; it must be positive.");
            id2Label = DefaultLabels(n).ToDictionary();
        }

        Dictionary<string, int> label2Id;
        if (r.Json["label2id"] is JsonObject inverse)
        {
            label2Id = [];
            foreach (var (key, value) in inverse)
            {
                if (value is not JsonValue v || !v.TryGetValue(out int id))
                    throw r.Error($"label2id['{key}'] is {value?.ToJsonString() ?? "null"}, not a class index.");
                label2Id[key] = id;
            }
        }
        else label2Id = id2Label.ToDictionary(kv => kv.Value, kv => kv.Key);
        return (id2Label, label2Id);
    }

    private static ProblemType? ReadProblemType(ConfigReader r) => r.OptionalString("problem_type") switch
    {
        null => null,
        "regression" => Configs.ProblemType.Regression,
        "single_label_classification" => Configs.ProblemType.SingleLabelClassification,
        "multi_label_classification" => Configs.ProblemType.MultiLabelClassification,
        var other => throw r.Error(
            $"problem_type '{other}' is not one of regression, single_label_classification, multi_label_classification."),
    };

    /// <summary>The problem_type as config.json spells it.</summary>
    public static string ProblemTypeName(ProblemType p) => p switch
    {
        Configs.ProblemType.Regression => "regression",
        Configs.ProblemType.SingleLabelClassification => "single_label_classification",
        Configs.ProblemType.MultiLabelClassification => "multi_label_classification",
        _ => throw new ArgumentOutOfRangeException(nameof(p), p, null),
    };

    private void WriteEos(ConfigWriter w, ModelConfig d)
    {
        // A single id stays a plain int unless the file already had a list.
        var asList = EosTokenIds.Count > 1 || Source?["eos_token_id"] is JsonArray;
        JsonNode? node = EosTokenIds.Count == 0 ? null
            : asList ? new JsonArray(EosTokenIds.Select(id => (JsonNode?)id).ToArray())
            : JsonValue.Create(EosTokenIds[0]);
        w.SetNode("eos_token_id", node, EosTokenIds.SequenceEqual(d.EosTokenIds));
    }

    private void WriteLabels(ConfigWriter w)
    {
        var isDefault = Id2Label.Count == 2 && Id2Label.OrderBy(kv => kv.Key).SequenceEqual(DefaultLabels(2))
            && Label2Id.Count == 2 && Label2Id.All(kv => Id2Label.TryGetValue(kv.Value, out var l) && l == kv.Key);
        var id2Label = new JsonObject();
        foreach (var (id, label) in Id2Label.OrderBy(kv => kv.Key)) id2Label[id.ToString(CultureInfo.InvariantCulture)] = label;
        var label2Id = new JsonObject();
        foreach (var (label, id) in Label2Id.OrderBy(kv => kv.Value)) label2Id[label] = id;
        w.SetNode("id2label", id2Label, isDefault);
        w.SetNode("label2id", label2Id, isDefault);
        // transformers derives num_labels from id2label and never writes it; a hand-written one is kept in step.
        if (w.Target.ContainsKey("num_labels")) w.Set("num_labels", NumLabels, NumLabels);
    }
}
