using EfficientFT.Tensors;

namespace EfficientFT.Models.Nn;

/// <summary>
/// What a parameter-efficient method puts on a <see cref="Linear"/>: it computes the layer's whole output from the
/// base weights and its own tensors (LoRA adds B·A·x, DoRA rescales, IA³ scales), so the model code never changes.
/// </summary>
public interface ILinearAdapter
{
    Tensor Forward(Linear layer, Tensor x, ForwardContext context);

    /// <summary>
    /// Whether <see cref="Forward"/> hands the layer's weight to the linear product as it is, so that holding it packed
    /// (<see cref="Module.FrozenLinearWeights"/>) pays. An adapter that computes with the weight's values
    /// itself (DoRA's norms, a scaled or sparse-updated copy) would unpack it at every step instead: false, the default.
    /// </summary>
    bool MultipliesWeightAsIs => false;
}
