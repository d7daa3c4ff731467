namespace EfficientFT.Training.Data;

/// <summary>
/// One sentence or sentence pair with its label: a class id for classification tasks, the score for regression
/// (STS-B's 0–5), as a float so that both fit the model's label tensor; for a multi-label task, the ids of the labels
/// that apply (<paramref name="Labels"/>; <paramref name="Label"/> is then 0).
/// </summary>
public sealed record TextExample(string First, string? Second, float Label, IReadOnlyList<int>? Labels = null)
{
    /// <summary>By value, the labels' list included (a record would compare its reference).</summary>
    public bool Equals(TextExample? other) =>
        other is not null && First == other.First && Second == other.Second && Label.Equals(other.Label)
        && (Labels == null ? other.Labels == null : other.Labels != null && Labels.SequenceEqual(other.Labels));

    public override int GetHashCode() => HashCode.Combine(First, Second, Label, Labels?.Count);
}
