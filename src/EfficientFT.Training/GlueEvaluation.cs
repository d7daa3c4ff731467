using EfficientFT.Models;
using EfficientFT.Models.Nn;
using EfficientFT.Peft;
using EfficientFT.Tensors.Autograd;
using EfficientFT.Training.Data;
using EfficientFT.Training.Metrics;

namespace EfficientFT.Training;

/// <summary>Scores a sequence-classification or regression model on labelled batches with a task's metrics.</summary>
public static class GlueEvaluation
{
    /// <summary>
    /// Predicts each row (the argmax class, or the single output for regression, as the reference run_glue scripts do)
    /// and returns every metric of <paramref name="task"/> by its name.
    /// </summary>
    public static IReadOnlyDictionary<string, double> Evaluate(PeftModel peft, IReadOnlyList<ModelBatch> batches, GlueTask task)
    {
        if (task.IsMultiLabel) return EvaluateMultiLabel(peft, batches, task);
        var predictions = new List<double>();
        var references = new List<double>();
        using (GradMode.NoGrad())
        {
            foreach (var batch in batches)
            {
                var logits = peft.Forward(batch, ForwardContext.Inference).Logits.Contiguous();
                var width = logits.Dim(-1);
                var values = logits.AsSpan();
                for (var row = 0; row < batch.Batch; row++)
                {
                    var scores = values.Slice(row * width, width);
                    predictions.Add(task.IsRegression ? scores[0] : ArgMax(scores));
                }
                if (task.IsRegression)
                    references.AddRange((batch.RegressionLabels ?? throw Unlabelled(task)).Select(v => (double)v));
                else
                    references.AddRange((batch.ClassLabels ?? throw Unlabelled(task)).Select(v => (double)v));
            }
        }
        return task.Metrics.ToDictionary(m => m.ToString(),
            m => MetricEvaluator.Compute(m, predictions.ToArray(), references.ToArray()));
    }

    /// <summary>
    /// A label is predicted where its logit is above 0 (sigmoid above 0.5, as transformers' multi-label examples
    /// threshold), and scored against the multi-hot references.
    /// </summary>
    private static IReadOnlyDictionary<string, double> EvaluateMultiLabel(PeftModel peft, IReadOnlyList<ModelBatch> batches, GlueTask task)
    {
        var predicted = new List<bool>();
        var reference = new List<bool>();
        using (GradMode.NoGrad())
        {
            foreach (var batch in batches)
            {
                var logits = peft.Forward(batch, ForwardContext.Inference).Logits.Contiguous().ToArray();
                if (logits.Length != batch.Batch * task.LabelCount)
                    throw new InvalidOperationException($"{task.Name}: {logits.Length} logits for {batch.Batch} rows of {task.LabelCount} labels.");
                predicted.AddRange(logits.Select(logit => logit > 0));
                reference.AddRange((batch.MultiHotLabels ?? throw Unlabelled(task)).Select(v => v >= 0.5f));
            }
        }
        return task.Metrics.ToDictionary(m => m.ToString(), m => MultiLabelMetrics.Compute(m, predicted, reference, task.LabelCount));
    }

    private static int ArgMax(ReadOnlySpan<float> scores)
    {
        var best = 0;
        for (var i = 1; i < scores.Length; i++)
            if (scores[i] > scores[best]) best = i;
        return best;
    }

    private static InvalidOperationException Unlabelled(GlueTask task) =>
        new($"{task.Name}: an evaluation batch has no {(task.IsRegression ? "regression" : task.IsMultiLabel ? "multi-hot" : "class")} labels.");
}
