namespace EfficientFT.Training.Metrics;

/// <summary>
/// The scores GLUE reports (F1 is binary with class 1 as the positive class, as the GLUE leaderboard's), and those of
/// multi-label classification, as scikit-learn computes them on multi-hot predictions.
/// </summary>
public enum Metric
{
    Accuracy,
    F1,
    MatthewsCorrelation,
    Pearson,
    Spearman,

    /// <summary>F1 over every (row, label) decision pooled: 2·TP / (2·TP + FP + FN).</summary>
    MicroF1,

    /// <summary>The mean over labels of each label's F1 (0 for a label never true nor predicted, as zero_division=0).</summary>
    MacroF1,

    /// <summary>Subset accuracy: the share of rows whose every label is predicted right.</summary>
    ExactMatch,
}
