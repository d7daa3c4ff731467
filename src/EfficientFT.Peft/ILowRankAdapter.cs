using EfficientFT.Models.Nn;
using EfficientFT.Tensors;

namespace EfficientFT.Peft;

/// <summary>
/// An adapter whose update is s·B·code(x) with a rank-r code: what constraints on the factors (MPC, AdaLoRA's
/// regularizer) and a nonlinearity between them need to see, whatever the method.
/// </summary>
public interface ILowRankAdapter : ILinearAdapter
{
    /// <summary>The down projection, [r, in] (peft's lora_A).</summary>
    Tensor A { get; }

    /// <summary>The up projection, [out, r] (peft's lora_B).</summary>
    Tensor B { get; }

    /// <summary>The factor s applied after B.</summary>
    float Scale { get; }

    /// <summary>The rank-r code of the input, [..., r]: A·dropout(x), and for AdaLoRA (A⊙E)·dropout(x).</summary>
    Tensor Code(Tensor x, ForwardContext context);
}
