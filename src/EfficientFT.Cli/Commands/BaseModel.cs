using EfficientFT.Models;
using EfficientFT.Models.Configs;
using EfficientFT.Models.Data;
using EfficientFT.Peft;

namespace EfficientFT.Cli.Commands;

/// <summary>
/// The model train, forward and merge start from. A checkpoint saved with a language-model head (roberta-base, a
/// Llama) becomes its family's sequence classifier where the work is classification, as a transformers user writes
/// AutoModelForSequenceClassification.from_pretrained(base, num_labels=…): for an adapter peft saved with task_type
/// SEQ_CLS, whose head says how many labels, and for training rows labelled "label".
/// </summary>
internal static class BaseModel
{
    /// <summary>
    /// The base with <paramref name="adapterDir"/>'s adapter on it, if any. A head that is still random afterwards,
    /// neither in the checkpoint nor in the adapter, is refused: every logit would be noise.
    /// </summary>
    public static (PretrainedModel Model, PeftModel? Peft) Load(string modelDir, string? adapterDir)
    {
        var (model, report) = Load(modelDir, config => adapterDir != null ? ForAdapter(config, adapterDir) : config);
        var peft = adapterDir != null ? PeftModel.LoadAdapter(model, adapterDir) : null;
        var random = report.NewlyInitialized.Where(name => peft?.HeadFromAdapter.Contains(name) != true).ToList();
        if (random.Count > 0)
            throw new InvalidDataException($"{modelDir}: the checkpoint lacks the {model.Architecture} head ({string.Join(", ", random)})" +
                                           (adapterDir != null ? $" and {adapterDir} does not carry it" : "") + "; its logits would be random.");
        if (report.Unused.Count > 0)
            Console.Error.WriteLine($"eft: note: {report.Unused.Count} checkpoint tensor(s) unused by {model.Architecture}: {string.Join(", ", report.Unused.Take(5))}");
        return (model, peft);
    }

    /// <summary>
    /// The checkpoint as <paramref name="choose"/> makes its config. A head it changes (another class, or another
    /// number of labels) starts fresh: whatever tensors the checkpoint holds under the head's names were another
    /// head's (transformers' ignore_mismatched_sizes). Another problem_type keeps the head: only the loss differs.
    /// </summary>
    public static (PretrainedModel Model, LoadReport Report) Load(string modelDir, Func<ModelConfig, ModelConfig> choose,
        ulong seed = 0, bool holdInBFloat16 = false)
    {
        var original = Pretrained.LoadConfig(modelDir);
        var config = choose(original);
        var freshHead = Pretrained.ArchitectureOf(config) != Pretrained.ArchitectureOf(original) || config.NumLabels != original.NumLabels;
        return Pretrained.Load(modelDir, _ => config, seed: seed, freshHead: freshHead, holdInBFloat16: holdInBFloat16);
    }

    /// <summary>
    /// The config as the classifier a SEQ_CLS adapter was trained on, when it names another head or another number of
    /// labels (an adapter trained with --num-labels on a classifier of another label set). An adapter that carries
    /// the head does not say whether it was trained single- or multi-label, so of several labels the rows' kind decides,
    /// as transformers does without a problem_type; one label regresses.
    /// </summary>
    public static ModelConfig ForAdapter(ModelConfig config, string adapterDir)
    {
        if (PeftModel.SequenceClassifierLabels(adapterDir, Pretrained.SequenceClassifierOf(config).LabelTensor) is not { } labels) return config;
        var ownSize = Pretrained.IsSequenceClassifier(config) && config.NumLabels == labels;
        // One output regresses, unless the checkpoint's own one-output head says it is multi-label.
        ProblemType? problem = labels > 1 ? null
            : ownSize && config.ProblemType == ProblemType.MultiLabelClassification ? ProblemType.MultiLabelClassification : ProblemType.Regression;
        return ownSize ? config with { ProblemType = problem } : Pretrained.AsSequenceClassifier(config, LabelNames(labels), problem);
    }

    /// <summary>
    /// The config for training on <paramref name="dataPath"/>: with <paramref name="numLabels"/>, a classifier of that
    /// many labels (1 regresses); otherwise a checkpoint without a classifier becomes one when the rows carry "label",
    /// sized by the largest class or a multi-label row's entries (or regressing, when some label is not a whole
    /// number). Rows of multi-hot arrays make the problem_type multi-label where the config names none, as transformers
    /// records it at its first forward, so a saved model reads them again. Says what it chose.
    /// </summary>
    public static ModelConfig ForRows(ModelConfig config, string dataPath, int? numLabels)
    {
        var rows = JsonlBatchReader.LabelsOf(dataPath);
        if (numLabels is { } n)
        {
            if (n < 1) throw new ArgumentException($"--num-labels must be at least 1, got {n}.");
            var problem = SequenceClassification.ProblemFor(n, rows.MultiHot);
            if (!(config.NumLabels == n && Pretrained.IsSequenceClassifier(config))) return Pretrained.AsSequenceClassifier(config, LabelNames(n), problem);
            // The head keeps its weights; a problem_type its config.json names and the rows do not fit is said, not hidden.
            if (config.ProblemType is { } named && named != problem)
                Console.Error.WriteLine($"eft: note: config.json's problem_type is {ModelConfig.ProblemTypeName(named)}; the rows train the head as {ModelConfig.ProblemTypeName(problem)}.");
            return config with { ProblemType = problem };
        }
        // One output without a problem_type regresses, as transformers reads it.
        if (Pretrained.IsSequenceClassifier(config))
            return rows.MultiHot && config.ProblemType == null && config.NumLabels > 1 ? config with { ProblemType = ProblemType.MultiLabelClassification } : config;
        if (!rows.Labelled) return config;
        // Rows made for the language model (tokenize --causal-lm keeps a dataset's other fields, "label" among them)
        // train it; only --num-labels turns such a checkpoint into a classifier.
        if (rows.TokenLabelled)
        {
            Console.Error.WriteLine($"eft: note: the rows carry per-token \"labels\", so {Pretrained.ArchitectureOf(config)} trains as it is and their \"label\" is not read; --num-labels N trains a classifier instead.");
            return config;
        }
        // Two at least, as transformers' default num_labels: one output would regress.
        var size = rows.MultiHot ? rows.Classes!.Value : rows.Classes is { } k ? Math.Max(k, 2) : 1;
        var classifier = Pretrained.AsSequenceClassifier(config, LabelNames(size), SequenceClassification.ProblemFor(size, rows.MultiHot));
        Console.Error.WriteLine($"eft: note: the rows carry \"label\", so {Pretrained.ArchitectureOf(config)}'s body trains as {classifier.Architectures[0]} " +
                                (rows.MultiHot ? $"with {classifier.NumLabels} labels, multi-label (each row's array has an entry per label)"
                                    : rows.Classes != null ? $"with {classifier.NumLabels} classes (the largest label + 1, at least 2)"
                                    : "regressing (some label is a number with a fraction)") +
                                "; --num-labels N sets the head (1 regresses, unless the labels are arrays).");
        return classifier;
    }

    /// <summary>
    /// The config to train from: the classifier an initial adapter was trained on, or the one the rows ask for
    /// (<see cref="ForRows"/>). A LLaMA classifier finds each row's last token by pad_token_id, and transformers refuses
    /// batches above one without it; a base model's config often has none, which would fail only at the first step.
    /// </summary>
    public static ModelConfig ForTraining(ModelConfig config, string modelDir, string dataPath, int? numLabels, string? initAdapter, int batchSize)
    {
        var chosen = initAdapter != null ? ForAdapter(config, initAdapter) : ForRows(config, dataPath, numLabels);
        if (batchSize > 1 && chosen is LlamaConfig { PadTokenId: null } && Pretrained.IsSequenceClassifier(chosen))
            throw new InvalidDataException($"{Path.Combine(modelDir, "config.json")}: sets no pad_token_id (or -1, which means none), and {Pretrained.ArchitectureOf(chosen)} finds each row's last token by it in a batch; set it there (the tokenizer's pad id, or its eos id as is usual for Llama).");
        return chosen;
    }

    /// <summary>transformers' names for labels a config does not name: LABEL_0, LABEL_1, ….</summary>
    private static string[] LabelNames(int count) => Enumerable.Range(0, count).Select(i => $"LABEL_{i}").ToArray();
}
