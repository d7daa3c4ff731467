using EfficientFT.Models.Nn;
using EfficientFT.Tensors;

namespace EfficientFT.Peft.Methods;

/// <summary>
/// MPC_n of Si, Yang &amp; Shen (arXiv 2407.05417): a nonlinearity h between the factors,
/// y = W x + b + s·B·h(code(x)), with code(x) = A·dropout(x) (AdaLoRA: (A⊙E)·dropout(x)). The paper does not name h;
/// we take the soft sign h(z) = z/(1 + c·|z|) with the MPC coefficient as the gain c, because
/// <list type="bullet">
/// <item>h(0) = 0 exactly, so the update is zero wherever the plain method's is zero at the start (B = 0 for
/// LoRA, E = 0 for AdaLoRA) and the model starts bit for bit at the base;</item>
/// <item>h′(0) = 1, so with AdaLoRA (code 0 at the start) every initial gradient is AdaLoRA's, and with LoRA the
/// gradient of B differs only by h(z) − z = −c·z|z|/(1 + c|z|) = O(c·z²);</item>
/// <item>h is odd, monotone and bounded by 1/c, so each code entry keeps its sign and order while its reach is
/// capped, and c → 0 recovers the linear adapter: c sets how far the constraint departs from it, as the
/// coefficient does for MPC_o and MPC_d.</item>
/// </list>
/// tanh(c·z)/c has the same first two properties in exact arithmetic, but the vectorised tanh the engine uses
/// returns −6e-8 at 0, which would move the starting model; the soft sign is a division our ops compute exactly.
/// The update is no longer a matrix, so this adapter cannot be merged into W.
/// </summary>
public sealed class NonlinearLowRankAdapter(ILowRankAdapter inner, float gain) : ILinearAdapter
{
    /// <summary>The linear adapter whose factors this one reuses.</summary>
    public ILowRankAdapter Inner { get; } = inner;

    /// <summary>c in h(z) = z/(1 + c·|z|).</summary>
    public float Gain { get; } = gain;

    public bool MultipliesWeightAsIs => true;

    public Tensor Forward(Linear layer, Tensor x, ForwardContext context)
    {
        var code = Inner.Code(x, context);
        var squashed = code / (Ops.Abs(code) * Gain + 1f);
        return Ops.Linear(x, layer.Weight, layer.Bias) + Ops.Linear(squashed, Inner.B) * Inner.Scale;
    }
}
