namespace EfficientFT.Training.Data;

/// <summary>
/// Where a task's text and label sit in the original GLUE train/dev TSVs (download_glue_data.py's files). Columns are
/// found by header name because MNLI's train and dev files differ in width; CoLA alone has no header, so it gets one
/// here.
/// </summary>
internal sealed record GlueTsvLayout(IReadOnlyList<string>? ImpliedHeader, string First, string? Second, string Label)
{
    public static GlueTsvLayout For(GlueTask task) => task.Name switch
    {
        "cola" => new(["source", "label", "original_label", "sentence"], "sentence", null, "label"),
        "sst2" => new(null, "sentence", null, "label"),
        "mrpc" => new(null, "#1 String", "#2 String", "Quality"),
        "stsb" => new(null, "sentence1", "sentence2", "score"),
        "qqp" => new(null, "question1", "question2", "is_duplicate"),
        "mnli" => new(null, "sentence1", "sentence2", "gold_label"),
        "qnli" => new(null, "question", "sentence", "label"),
        "rte" => new(null, "sentence1", "sentence2", "label"),
        _ => throw new ArgumentException($"Task '{task.Name}' has no original GLUE TSV layout.", nameof(task)),
    };
}
