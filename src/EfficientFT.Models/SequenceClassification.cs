using EfficientFT.Models.Configs;
using EfficientFT.Tensors;

namespace EfficientFT.Models;

/// <summary>The loss rule transformers' *ForSequenceClassification heads share.</summary>
public static class SequenceClassification
{
    /// <summary>problem_type "regression", or one label where no problem_type asks for the multi-label loss.</summary>
    public static bool IsRegression(ModelConfig config) =>
        config.ProblemType == ProblemType.Regression || (config.NumLabels == 1 && config.ProblemType != ProblemType.MultiLabelClassification);

    /// <summary>
    /// The problem_type of a head of <paramref name="numLabels"/> trained on rows of multi-hot arrays or not: multi-label,
    /// else one label regresses and several classify.
    /// </summary>
    public static ProblemType ProblemFor(int numLabels, bool multiHot) =>
        multiHot ? ProblemType.MultiLabelClassification : numLabels == 1 ? ProblemType.Regression : ProblemType.SingleLabelClassification;

    /// <summary>
    /// The rows (multi-label: every row weighs the same, as its C terms are averaged) or regression targets a loss
    /// averages over, or the class labels other than −100.
    /// </summary>
    /// <exception cref="InvalidDataException">The batch has no labels of the kind the head reads.</exception>
    public static int LossItems(ModelConfig config, ModelBatch batch, string architecture)
    {
        var (items, kind) = IsRegression(config) ? (batch.RegressionLabels?.Length, "regression targets")
            : batch.MultiHotLabels != null || config.ProblemType == ProblemType.MultiLabelClassification
                ? (batch.MultiHotLabels != null ? batch.Batch : (int?)null, "multi-hot labels (an array of one probability per class)")
                : (batch.ClassLabels?.Count(l => l != -100), "class labels");
        return items ?? throw new InvalidDataException($"{architecture} computes its loss from {kind} (\"label\"), and the rows have none.");
    }

    /// <summary>
    /// MSE on [B, 1] logits against float labels, binary cross-entropy on [B, C] against multi-hot labels (transformers'
    /// problem_type "multi_label_classification", which it also picks for float labels when the config names none), or
    /// cross-entropy on [B, C] against class labels; null without labels.
    /// </summary>
    /// <exception cref="InvalidDataException">The labels are of another kind than the config's problem_type.</exception>
    public static Tensor? Loss(ModelConfig config, Tensor logits, ModelBatch batch)
    {
        if (IsRegression(config))
            return batch.RegressionLabels is { } values ? Ops.MseLoss(logits.Reshape(-1), Tensor.FromArray(values, values.Length)) : null;
        if (batch.MultiHotLabels is { } hot)
        {
            if (config.ProblemType == ProblemType.SingleLabelClassification)
                throw new InvalidDataException("multi-hot labels for a model whose problem_type is single_label_classification, which reads one class index per row.");
            return Ops.BinaryCrossEntropyWithLogits(logits, Tensor.FromArray(hot, logits.ShapeArray()));
        }
        if (batch.ClassLabels is { } labels && config.ProblemType == ProblemType.MultiLabelClassification)
            throw new InvalidDataException("class indices for a model whose problem_type is multi_label_classification, which reads an array of one probability per class per row.");
        return batch.ClassLabels is { } classes ? Ops.CrossEntropy(logits, classes) : null;
    }
}
