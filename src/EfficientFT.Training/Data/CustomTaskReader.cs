using System.Text.Json;
using System.Text.Json.Serialization;
using EfficientFT.Training.Metrics;

namespace EfficientFT.Training.Data;

/// <summary>
/// Reads a task description for data outside GLUE, so the JSONL and CSV readers and the evaluation work on it as on a
/// GLUE task. Example:
/// <code>
/// { "name": "reviews", "text_columns": ["title", "body"], "label_column": "stars",
///   "label_names": ["bad", "good"], "metrics": ["accuracy", "f1"], "headline": "accuracy" }
/// </code>
/// A regression task sets "regression": true instead of "label_names". A multi-label task sets "multi_label": true
/// beside its label_names, holds a JSON array of label names (or ids) per row, and is scored by micro_f1, macro_f1 and
/// exact_match. "headline" defaults to the first metric and "evaluation_splits" to ["validation"]. JSON rather than
/// YAML keeps the library on System.Text.Json alone.
/// </summary>
public static class CustomTaskReader
{
    private static readonly JsonSerializerOptions Options = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        RespectRequiredConstructorParameters = true,
        RespectNullableAnnotations = true,
        AllowTrailingCommas = true,
        ReadCommentHandling = JsonCommentHandling.Skip,
    };

    public static GlueTask Read(string path)
    {
        CustomTaskFile file;
        try
        {
            file = JsonSerializer.Deserialize<CustomTaskFile>(File.ReadAllText(path), Options)
                ?? throw DataErrors.At(path, 1, "the task description is null.");
        }
        catch (JsonException e)
        {
            throw DataErrors.At(path, (e.LineNumber ?? 0) + 1, e.Message);
        }

        return ToTask(file, path);
    }

    private static GlueTask ToTask(CustomTaskFile file, string path)
    {
        if (file.TextColumns.Count is not (1 or 2))
        {
            throw Invalid(path, $"text_columns names {file.TextColumns.Count} columns; a task has one sentence or a pair.");
        }

        if (file.MultiLabel && file.Regression)
        {
            throw Invalid(path, "a task is multi_label or regression, not both.");
        }

        var labelNames = file.LabelNames ?? [];
        if (file.Regression == labelNames.Count > 0)
        {
            throw Invalid(path, file.Regression
                ? "a regression task has no label_names."
                : file.MultiLabel ? "a multi-label task needs label_names." : "a classification task needs label_names (or \"regression\": true).");
        }

        if (!file.Regression && !file.MultiLabel && labelNames.Count < 2)
        {
            throw Invalid(path, "label_names needs at least two classes.");
        }

        if (file.Metrics.Count == 0)
        {
            throw Invalid(path, "metrics is empty.");
        }

        var metrics = file.Metrics.Select(name => ParseMetric(name, path)).ToArray();
        // Each metric is one column of the results: listed twice (or under both its names) it would fail every run's
        // first evaluation, after its training.
        if (metrics.GroupBy(m => m).FirstOrDefault(g => g.Count() > 1) is { } twice)
        {
            throw Invalid(path, $"metrics lists one metric more than once ({string.Join(", ", file.Metrics.Where(name => ParseMetric(name, path) == twice.Key))}).");
        }
        foreach (var metric in metrics.Where(m => IsCorrelation(m) != file.Regression || IsMultiLabel(m) != file.MultiLabel))
        {
            throw Invalid(path, $"metric {metric.ShortName()} does not apply to a {(file.Regression ? "regression" : file.MultiLabel ? "multi-label" : "classification")} task" +
                                (file.MultiLabel ? " (micro_f1, macro_f1 and exact_match do)." : IsMultiLabel(metric) ? "; a multi-label task sets \"multi_label\": true." : "."));
        }

        // F1 here is the binary score of class 1, as GLUE's; with three or more classes it would score one class
        // alone, where scikit-learn's binary F1 refuses.
        if (metrics.Contains(Metric.F1) && labelNames.Count > 2)
        {
            throw Invalid(path, $"metric f1 is binary (class 1 against the rest), and this task has {labelNames.Count} classes; use accuracy or mcc.");
        }

        var headline = file.Headline is { } name ? ParseMetric(name, path) : metrics[0];
        if (!metrics.Contains(headline))
        {
            throw Invalid(path, $"headline '{file.Headline}' is not among metrics.");
        }

        var splits = file.EvaluationSplits ?? ["validation"];
        if (splits.Count == 0)
        {
            throw Invalid(path, "evaluation_splits is empty.");
        }

        return new GlueTask(
            file.Name,
            new SentenceKeys(file.TextColumns[0], file.TextColumns.Count == 2 ? file.TextColumns[1] : null),
            labelNames,
            file.Regression,
            metrics,
            headline,
            splits,
            file.LabelColumn,
            file.MultiLabel);
    }

    private static Metric ParseMetric(string name, string path) =>
        MetricNames.ByName.TryGetValue(name, out var metric)
            ? metric
            : throw Invalid(path, $"unknown metric '{name}'; known: {string.Join(", ", MetricNames.ByName.Keys)}.");

    private static bool IsCorrelation(Metric metric) => metric is Metric.Pearson or Metric.Spearman;

    private static bool IsMultiLabel(Metric metric) => metric is Metric.MicroF1 or Metric.MacroF1 or Metric.ExactMatch;

    private static InvalidDataException Invalid(string path, string message) => new($"{path}: {message}");
}
