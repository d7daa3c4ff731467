using EfficientFT.Models.Configs;
using EfficientFT.Tensors;

namespace EfficientFT.Models;

/// <summary>The loss rule transformers' *ForSequenceClassification heads share.</summary>
public static class SequenceClassification
{
    /// <summary>One label, or problem_type "regression", means regression.</summary>
    public static bool IsRegression(ModelConfig config) => config.NumLabels == 1 || config.ProblemType == ProblemType.Regression;

    /// <summary>MSE on [B, 1] logits against float labels, or cross-entropy on [B, C] against class labels; null without labels.</summary>
    public static Tensor? Loss(ModelConfig config, Tensor logits, ModelBatch batch)
    {
        if (IsRegression(config))
            return batch.RegressionLabels is { } values ? Ops.MseLoss(logits.Reshape(-1), Tensor.FromArray(values, values.Length)) : null;
        return batch.ClassLabels is { } labels ? Ops.CrossEntropy(logits, labels) : null;
    }
}
