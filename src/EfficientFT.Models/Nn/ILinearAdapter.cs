using EfficientFT.Tensors;

namespace EfficientFT.Models.Nn;

/// <summary>
/// What a parameter-efficient method puts on a <see cref="Linear"/>: it computes the layer's whole output from the
/// base weights and its own tensors (LoRA adds B·A·x, DoRA rescales, IA³ scales), so the model code never changes.
/// </summary>
public interface ILinearAdapter
{
    Tensor Forward(Linear layer, Tensor x, ForwardContext context);
}
