using EfficientFT.Training.Metrics;

namespace EfficientFT.Training.Data;

/// <summary>
/// The GLUE tasks EfficientFT trains on (WNLI left out, as in the paper). Label ids follow the Hugging Face "glue"
/// dataset's ClassLabel order, so the original TSVs' text labels and the JSONL exports' ids mean the same class.
/// Headlines are the ones the paper reports: CoLA MCC, STS-B Pearson, MNLI mean of matched and mismatched accuracy,
/// accuracy elsewhere.
/// </summary>
public static class GlueTasks
{
    private static readonly string[] Validation = ["validation"];

    public static GlueTask Cola { get; } = new(
        "cola", new SentenceKeys("sentence"), ["unacceptable", "acceptable"], false,
        [Metric.MatthewsCorrelation, Metric.Accuracy], Metric.MatthewsCorrelation, Validation);

    public static GlueTask Sst2 { get; } = new(
        "sst2", new SentenceKeys("sentence"), ["negative", "positive"], false,
        [Metric.Accuracy], Metric.Accuracy, Validation);

    public static GlueTask Mrpc { get; } = new(
        "mrpc", new SentenceKeys("sentence1", "sentence2"), ["not_equivalent", "equivalent"], false,
        [Metric.Accuracy, Metric.F1], Metric.Accuracy, Validation);

    public static GlueTask Stsb { get; } = new(
        "stsb", new SentenceKeys("sentence1", "sentence2"), [], true,
        [Metric.Pearson, Metric.Spearman], Metric.Pearson, Validation);

    public static GlueTask Qqp { get; } = new(
        "qqp", new SentenceKeys("question1", "question2"), ["not_duplicate", "duplicate"], false,
        [Metric.Accuracy, Metric.F1], Metric.Accuracy, Validation);

    public static GlueTask Mnli { get; } = new(
        "mnli", new SentenceKeys("premise", "hypothesis"), ["entailment", "neutral", "contradiction"], false,
        [Metric.Accuracy], Metric.Accuracy, ["validation_matched", "validation_mismatched"]);

    public static GlueTask Qnli { get; } = new(
        "qnli", new SentenceKeys("question", "sentence"), ["entailment", "not_entailment"], false,
        [Metric.Accuracy], Metric.Accuracy, Validation);

    public static GlueTask Rte { get; } = new(
        "rte", new SentenceKeys("sentence1", "sentence2"), ["entailment", "not_entailment"], false,
        [Metric.Accuracy], Metric.Accuracy, Validation);

    public static IReadOnlyDictionary<string, GlueTask> All { get; } =
        new[] { Cola, Sst2, Mrpc, Stsb, Qqp, Mnli, Qnli, Rte }.ToDictionary(t => t.Name, StringComparer.OrdinalIgnoreCase);

    public static GlueTask Get(string name) =>
        All.TryGetValue(name, out var task)
            ? task
            : throw new ArgumentException($"Unknown GLUE task '{name}'; known: {string.Join(", ", All.Keys)}.", nameof(name));
}
