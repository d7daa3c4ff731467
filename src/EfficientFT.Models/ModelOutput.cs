using EfficientFT.Tensors;

namespace EfficientFT.Models;

/// <summary>Logits ([B, C], [B, 1] for regression, [B, T, V] for language models) and the loss when labels were given.</summary>
public sealed record ModelOutput(Tensor Logits, Tensor? Loss);
