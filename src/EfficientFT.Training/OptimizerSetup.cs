using EfficientFT.Models;
using EfficientFT.Peft;
using EfficientFT.Peft.Methods;
using EfficientFT.Training.Optimizers;

namespace EfficientFT.Training;

/// <summary>The optimizer settings `eft train` and `eft bench` share; the defaults are AdamW's (torch) and galore_torch's.</summary>
public sealed record OptimizerSettings
{
    public required double LearningRate { get; init; }

    /// <summary>λ: the V projection's tensors learn at λ·lr.</summary>
    public double ValueRatio { get; init; } = 1;

    /// <summary>LoRA+: lora_B (and 1-D tensors) at ratio·lr; null leaves them at lr.</summary>
    public double? LoraPlusRatio { get; init; }

    public double Beta1 { get; init; } = 0.9;

    public double Beta2 { get; init; } = 0.999;

    public double Eps { get; init; } = 1e-8;

    public double WeightDecay { get; init; }

    public int GaloreGap { get; init; } = 200;

    public double GaloreScale { get; init; } = 0.25;
}

/// <summary>
/// The construction steps shared by every command that trains a <see cref="PeftModel"/>, so that `train` and `bench`
/// build the same optimizer and give a data-driven method the same initialisation batches.
/// </summary>
public static class OptimizerSetup
{
    /// <summary>GaLore's projecting AdamW for a GaLore model, else AdamW over <see cref="ParameterGroups"/> (λ, LoRA+).</summary>
    public static IOptimizer Create(PeftModel peft, OptimizerSettings s) => peft.Method is GaLore
        ? GaLoreAdamW.Create(peft.Trainable, s.LearningRate, s.ValueRatio,
            new GaLoreOptions { Rank = peft.Options.Rank, UpdateProjectionGap = s.GaloreGap, Scale = s.GaloreScale },
            s.WeightDecay, s.Beta1, s.Beta2, s.Eps)
        : new AdamW(ParameterGroups.Build(peft.Trainable, s.LearningRate, s.ValueRatio, s.LoraPlusRatio, s.WeightDecay), s.Beta1, s.Beta2, s.Eps);

    /// <summary>
    /// EVA initialises from the inputs its layers see: the training rows in file order, in batches of the training
    /// size (as wide as the rows, as `eft train` has always given them). Null for every method that does not initialise from data.
    /// </summary>
    public static IEnumerable<ModelBatch>? InitBatches(string method, ModelBatch rows, int batchSize) =>
        PeftMethods.Create(method) is IDataDrivenInit
            ? Enumerable.Range(0, (rows.Batch + batchSize - 1) / batchSize)
                .Select(i => rows.Select(Enumerable.Range(i * batchSize, Math.Min(batchSize, rows.Batch - i * batchSize)).ToList()))
            : null;
}
