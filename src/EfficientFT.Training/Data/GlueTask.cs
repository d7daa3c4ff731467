using EfficientFT.Training.Metrics;

namespace EfficientFT.Training.Data;

/// <summary>
/// What a reader and an evaluation need to know about a task. The names and keys are the Hugging Face "glue" dataset's,
/// so a JSONL export of it reads with them as they are; a custom task fills the same record from its JSON description.
/// </summary>
/// <param name="Name">The registry key (lower case, as the Hugging Face config names).</param>
/// <param name="SentenceKeys">The text columns, in the order the pair is fed to the tokenizer.</param>
/// <param name="LabelNames">Class names in class-id order; empty for regression.</param>
/// <param name="IsRegression">The label is a score and the model has a single output.</param>
/// <param name="Metrics">Everything reported for each evaluation split.</param>
/// <param name="HeadlineMetric">The one metric a run is ranked by.</param>
/// <param name="EvaluationSplits">The splits evaluated; the headline averages <see cref="HeadlineMetric"/> over them.</param>
/// <param name="LabelKey">The label column of JSONL and CSV files.</param>
/// <param name="IsMultiLabel">Each row has any number of the labels (JSONL arrays of names), trained with binary cross-entropy.</param>
public sealed record GlueTask(
    string Name,
    SentenceKeys SentenceKeys,
    IReadOnlyList<string> LabelNames,
    bool IsRegression,
    IReadOnlyList<Metric> Metrics,
    Metric HeadlineMetric,
    IReadOnlyList<string> EvaluationSplits,
    string LabelKey = "label",
    bool IsMultiLabel = false)
{
    public int LabelCount => IsRegression ? 1 : LabelNames.Count;

    /// <summary>
    /// The score a run is reported by: the headline metric averaged over the evaluation splits, which for MNLI is the
    /// mean of matched and mismatched accuracy and elsewhere the single validation split's value.
    /// </summary>
    /// <param name="headlineBySplit">The headline metric's value per evaluation split.</param>
    public double Headline(IReadOnlyDictionary<string, double> headlineBySplit)
    {
        double sum = 0;
        foreach (var split in EvaluationSplits)
        {
            if (!headlineBySplit.TryGetValue(split, out var value))
            {
                throw new ArgumentException($"Task {Name}: no {HeadlineMetric} for split {split}.", nameof(headlineBySplit));
            }

            sum += value;
        }

        return sum / EvaluationSplits.Count;
    }
}
