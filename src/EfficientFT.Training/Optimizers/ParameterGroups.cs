using EfficientFT.Peft;

namespace EfficientFT.Training.Optimizers;

/// <summary>
/// The learning-rate rules that combine with any method. EfficientFT's λ: whatever a method trains in the V
/// projection learns at λ·lr while Q, K and everything else learn at lr. (The authors' create_my_optimizer also gives
/// λ·lr to every 1-D tensor whose name holds neither query nor key, the head's biases among them: a side effect of its
/// grouping by name and rank, which the insight does not ask for and which is not followed here.) LoRA+ (Hayou et al. 2024): lora_B learns
/// at ratio·lr; as peft's create_loraplus_optimizer, every other 1-D trained tensor (head biases, DoRA magnitudes)
/// joins lora_B's rate too. Both are groups of one optimizer, not special cases in the trainer.
/// </summary>
public static class ParameterGroups
{
    public static IReadOnlyList<ParamGroup> Build(IReadOnlyList<PeftParameter> trainable, double learningRate,
        double valueRatio = 1, double? loraPlusRatio = null, double weightDecay = 0)
    {
        double Rate(PeftParameter p) =>
            learningRate * (p.Role == ProjectionRole.Value ? valueRatio : 1) * (loraPlusRatio is { } r && (p.Kind == "lora_B" || p.Value.Rank == 1) ? r : 1);
        return trainable.GroupBy(Rate)
            .Select(g => new ParamGroup($"lr={g.Key:G4}", g.Key, weightDecay, g.Select(p => p.Value).ToList()))
            .ToList();
    }
}
