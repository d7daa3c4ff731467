namespace EfficientFT.Training.Metrics;

/// <summary>The scores GLUE reports; F1 is binary with class 1 as the positive class, as the GLUE leaderboard's.</summary>
public enum Metric
{
    Accuracy,
    F1,
    MatthewsCorrelation,
    Pearson,
    Spearman,
}
