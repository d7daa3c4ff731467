using EfficientFT.Models.Configs;
using EfficientFT.Models.Llama;
using EfficientFT.Models.Roberta;
using EfficientFT.Models.SafeTensors;
using EfficientFT.Tensors;

namespace EfficientFT.Models;

/// <summary>Models from and to Hugging Face layout: a directory with config.json and model.safetensors (or shards).</summary>
public static class Pretrained
{
    /// <summary>The architectures this build can run, by the name config.json's "architectures" uses.</summary>
    public static IReadOnlyDictionary<string, Func<ModelConfig, PretrainedModel>> Architectures { get; } =
        new Dictionary<string, Func<ModelConfig, PretrainedModel>>
        {
            ["RobertaForSequenceClassification"] = c => new RobertaForSequenceClassification(As<RobertaConfig>(c)),
            ["RobertaForMaskedLM"] = c => new RobertaForMaskedLM(As<RobertaConfig>(c)),
            ["LlamaForCausalLM"] = c => new LlamaForCausalLM(As<LlamaConfig>(c)),
            ["LlamaForSequenceClassification"] = c => new LlamaForSequenceClassification(As<LlamaConfig>(c)),
        };

    /// <summary>
    /// The architecture a config builds: the first of its "architectures" this library has, else the default head for
    /// its model type (a sequence classifier for encoders, a causal LM for decoders).
    /// </summary>
    public static string ArchitectureOf(ModelConfig config) =>
        config.Architectures.Select(Canonical).FirstOrDefault(Architectures.ContainsKey) ?? config switch
        {
            RobertaConfig => "RobertaForSequenceClassification",
            _ => "LlamaForCausalLM",
        };

    /// <summary>
    /// The class transformers names another model type's copy of: XLM-RoBERTa's classes are RoBERTa's and Mistral's
    /// are LLaMA's, with the same tensor names ("XLMRobertaForMaskedLM" → "RobertaForMaskedLM").
    /// </summary>
    private static string Canonical(string architecture) =>
        architecture.StartsWith("XLMRoberta", StringComparison.Ordinal) ? architecture["XLM".Length..]
        : architecture.StartsWith("Mistral", StringComparison.Ordinal) ? "Llama" + architecture["Mistral".Length..]
        : architecture;

    /// <summary>
    /// The sequence classifier of a config's model family, as AutoModelForSequenceClassification builds it and names
    /// it for the model type ("XLMRobertaForSequenceClassification"), and the head tensor whose rows are its labels.
    /// </summary>
    /// <exception cref="NotSupportedException">The family has no sequence classifier here.</exception>
    public static (string Architecture, string LabelTensor) SequenceClassifierOf(ModelConfig config) => config switch
    {
        RobertaConfig => ($"{(config.ModelType == "xlm-roberta" ? "XLMRoberta" : "Roberta")}ForSequenceClassification", "classifier.out_proj.weight"),
        LlamaConfig => ($"{(config.ModelType == "mistral" ? "Mistral" : "Llama")}ForSequenceClassification", "score.weight"),
        _ => throw new NotSupportedException($"no sequence classifier for model type {config.ModelType}."),
    };

    /// <summary>Whether the config builds a sequence classifier (a head of labels) rather than a language-model head.</summary>
    public static bool IsSequenceClassifier(ModelConfig config) => ArchitectureOf(config).EndsWith("ForSequenceClassification", StringComparison.Ordinal);

    /// <summary>
    /// The config as its family's sequence classifier with these labels, the head's size, and <paramref name="problem"/>
    /// as its problem_type (one label regresses; null leaves the loss to the labels' kind, as transformers).
    /// </summary>
    public static ModelConfig AsSequenceClassifier(ModelConfig config, IReadOnlyList<string> labels, ProblemType? problem)
    {
        if (problem == ProblemType.Regression && labels.Count != 1) throw new ArgumentException($"a regression head has one output, not {labels.Count}.");
        return config with
        {
            Architectures = [SequenceClassifierOf(config).Architecture],
            Id2Label = labels.Select((name, i) => (name, i)).ToDictionary(p => p.i, p => p.name),
            Label2Id = labels.Select((name, i) => (name, i)).ToDictionary(p => p.name, p => p.i),
            ProblemType = problem,
        };
    }

    /// <summary>A model with zero weights for <paramref name="config"/>; <paramref name="architecture"/> defaults to <see cref="ArchitectureOf"/>.</summary>
    public static PretrainedModel Create(ModelConfig config, string? architecture = null)
    {
        architecture = architecture == null ? ArchitectureOf(config) : Canonical(architecture);
        if (!Architectures.TryGetValue(architecture, out var create))
            throw new NotSupportedException($"Architecture {architecture} is not supported; supported: {string.Join(", ", Architectures.Keys)}.");
        return create(config);
    }

    /// <summary>
    /// Loads config.json and the weights from <paramref name="directory"/>. With <paramref name="architecture"/>
    /// a body can get another head (a masked-LM checkpoint fine-tuned as a classifier); the new head's tensors are
    /// initialised from <paramref name="seed"/> and listed in the report.
    /// </summary>
    public static (PretrainedModel Model, LoadReport Report) Load(string directory, string? architecture = null, ulong seed = 0) =>
        Load(directory, config => config, architecture, seed);

    /// <summary>
    /// As <see cref="Load(string, string?, ulong)"/>, with the config changed by <paramref name="configure"/> before
    /// the model is built (a classifier for another label set). With <paramref name="freshHead"/> the checkpoint's own
    /// head tensors, if any, are ignored and the head starts from <paramref name="seed"/>: its shape may not fit. With
    /// <paramref name="holdInBFloat16"/> every matrix but the task head's is held in bfloat16 before the weights are
    /// read (<see cref="Module.HoldFrozenMatricesInBFloat16"/>), so the model never exists in float32 as a whole; a
    /// bfloat16 checkpoint loads without rounding. Either way the weights are read into place piece by piece.
    /// </summary>
    public static (PretrainedModel Model, LoadReport Report) Load(string directory, Func<ModelConfig, ModelConfig> configure,
        string? architecture = null, ulong seed = 0, bool freshHead = false, bool holdInBFloat16 = false)
    {
        var model = Create(configure(LoadConfig(directory)), architecture);
        if (holdInBFloat16) model.HoldFrozenMatricesInBFloat16(except: model.HeadModules);
        using var checkpoint = SafeTensorsCheckpoint.Open(directory);
        var names = checkpoint.Names.ToHashSet(StringComparer.Ordinal);
        if (freshHead) names.RemoveWhere(model.IsInHead);
        var report = model.LoadTensors(checkpoint, names, directory, new Rng(seed));
        return (model, report);
    }

    /// <summary>The config.json of a model directory.</summary>
    /// <exception cref="FileNotFoundException">The directory has none.</exception>
    public static ModelConfig LoadConfig(string directory)
    {
        var configPath = Path.Combine(directory, "config.json");
        if (!File.Exists(configPath))
            throw new FileNotFoundException($"{directory}: no config.json (expected a Hugging Face model directory).", configPath);
        return ModelConfig.Load(configPath);
    }

    /// <summary>
    /// Writes config.json (architectures set to this model's, torch_dtype float32) and the weights as save_pretrained
    /// does: model.safetensors, or 5 GB shards and their index for a larger model, each file atomically. An earlier
    /// save's shards and index in the directory are removed: the loader prefers an index, so one left beside a new
    /// model.safetensors would load the old weights.
    /// </summary>
    public static void Save(PretrainedModel model, string directory)
    {
        // A checkpoint's own name for the class stays (XLMRobertaForMaskedLM for an XLM-R model).
        var name = model.ModelConfig.Architectures.FirstOrDefault(a => Canonical(a) == model.Architecture) ?? model.Architecture;
        var config = model.ModelConfig with { Architectures = [name] };
        SafeTensorsWriter.SaveSharded(directory, model.NamedTensors().Select(p => KeyValuePair.Create(p.Name, p.Value)));
        // The weights go out in float32 whatever the checkpoint held, as save_pretrained writes a float32 model; a
        // bfloat16 torch_dtype carried over from the base would misdescribe them.
        config.Save(Path.Combine(directory, "config.json"), torchDtype: "float32");
    }

    private static T As<T>(ModelConfig config) where T : ModelConfig => config as T
        ?? throw new ArgumentException($"A {config.ModelType} config cannot build a model that needs {typeof(T).Name}.");
}
