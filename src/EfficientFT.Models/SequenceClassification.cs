using EfficientFT.Models.Configs;
using EfficientFT.Tensors;

namespace EfficientFT.Models;

/// <summary>The loss rule transformers' *ForSequenceClassification heads share.</summary>
public static class SequenceClassification
{
    /// <summary>One label, or problem_type "regression", means regression.</summary>
    public static bool IsRegression(ModelConfig config) => config.NumLabels == 1 || config.ProblemType == ProblemType.Regression;

    /// <summary>The rows a regression loss averages over, or the class labels other than −100.</summary>
    /// <exception cref="InvalidDataException">The batch has no labels of the kind the head reads.</exception>
    /// <exception cref="NotSupportedException">The config asks for the multi-label loss.</exception>
    public static int LossItems(ModelConfig config, ModelBatch batch, string architecture)
    {
        RefuseMultiLabel(config, architecture);
        return (IsRegression(config) ? batch.RegressionLabels?.Length : batch.ClassLabels?.Count(l => l != -100))
            ?? throw new InvalidDataException($"{architecture} computes its loss from {(IsRegression(config) ? "regression targets" : "class labels")} (\"label\"), and the rows have none.");
    }

    /// <summary>
    /// transformers trains problem_type "multi_label_classification" with binary cross-entropy on multi-hot labels;
    /// cross-entropy on class indices would train another objective without a word.
    /// </summary>
    private static void RefuseMultiLabel(ModelConfig config, string architecture)
    {
        if (config.ProblemType == ProblemType.MultiLabelClassification)
            throw new NotSupportedException($"{architecture} with problem_type \"multi_label_classification\" computes its loss with binary cross-entropy on multi-hot labels, which is not supported (logits without labels are).");
    }

    /// <summary>MSE on [B, 1] logits against float labels, or cross-entropy on [B, C] against class labels; null without labels.</summary>
    /// <exception cref="NotSupportedException">The config asks for the multi-label loss.</exception>
    public static Tensor? Loss(ModelConfig config, Tensor logits, ModelBatch batch)
    {
        if (batch.ClassLabels != null) RefuseMultiLabel(config, config.Architectures.FirstOrDefault() ?? "the model");
        if (IsRegression(config))
            return batch.RegressionLabels is { } values ? Ops.MseLoss(logits.Reshape(-1), Tensor.FromArray(values, values.Length)) : null;
        return batch.ClassLabels is { } labels ? Ops.CrossEntropy(logits, labels) : null;
    }
}
