using EfficientFT.Peft;

namespace EfficientFT.Training.Optimizers;

/// <summary>
/// The learning-rate rules that combine with any method. EfficientFT's λ: whatever a method trains in the V
/// projection learns at λ·lr while Q, K and everything else learn at lr. (The authors' create_my_optimizer also gives
/// λ·lr to every 1-D tensor whose name holds neither query nor key, the head's biases among them: a side effect of its
/// grouping by name and rank, which the insight does not ask for and which is not followed here.) LoRA+ (Hayou et al. 2024): lora_B learns
/// at ratio·lr; as peft's create_loraplus_optimizer, every other 1-D trained tensor (head biases, DoRA magnitudes)
/// joins lora_B's rate too. Both are groups of one optimizer, not special cases in the trainer. With weight decay, biases
/// and normalisation weights form groups without it (<see cref="Decays"/>).
/// </summary>
public static class ParameterGroups
{
    public static IReadOnlyList<ParamGroup> Build(IReadOnlyList<PeftParameter> trainable, double learningRate,
        double valueRatio = 1, double? loraPlusRatio = null, double weightDecay = 0)
    {
        double Rate(PeftParameter p) =>
            learningRate * (p.Role == ProjectionRole.Value ? valueRatio : 1) * (loraPlusRatio is { } r && (p.Kind == "lora_B" || p.Value.Rank == 1) ? r : 1);
        // Without decay the groups stay one per rate, in the order earlier checkpoints' moments were saved in.
        if (weightDecay == 0)
            return trainable.GroupBy(Rate).Select(g => new ParamGroup($"lr={g.Key:G4}", g.Key, 0, g.Select(p => p.Value).ToList())).ToList();
        return trainable.GroupBy(p => (Rate: Rate(p), Decays: Decays(p.Name)))
            .Select(g => new ParamGroup($"lr={g.Key.Rate:G4}{(g.Key.Decays ? "" : " no_decay")}", g.Key.Rate, g.Key.Decays ? weightDecay : 0,
                g.Select(p => p.Value).ToList()))
            .ToList();
    }

    /// <summary>
    /// transformers' Trainer decays every parameter but biases and the weights of normalisation layers (LayerNorm,
    /// LLaMA's RMSNorm), as peft's LoRA+ optimizer and the EfficientFT authors' optimizer do; known by name here.
    /// </summary>
    public static bool Decays(string name)
    {
        if (name.Contains("bias", StringComparison.Ordinal)) return false;
        var module = name[..Math.Max(0, name.LastIndexOf('.'))];
        var last = module[(module.LastIndexOf('.') + 1)..];
        return !(last.Contains("LayerNorm", StringComparison.Ordinal) || last.EndsWith("layernorm", StringComparison.Ordinal) || last == "norm");
    }
}
