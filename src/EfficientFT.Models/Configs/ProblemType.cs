namespace EfficientFT.Models.Configs;

/// <summary>
/// transformers' <c>problem_type</c>, which picks the loss of a sequence-classification head: MSE, cross-entropy,
/// or BCE-with-logits.
/// </summary>
public enum ProblemType
{
    /// <summary>"regression": MSE against a float label.</summary>
    Regression,

    /// <summary>"single_label_classification": cross-entropy against one class index.</summary>
    SingleLabelClassification,

    /// <summary>"multi_label_classification": BCE with logits against a multi-hot vector.</summary>
    MultiLabelClassification,
}
