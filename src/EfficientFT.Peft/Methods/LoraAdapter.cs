using EfficientFT.Models.Nn;
using EfficientFT.Tensors;
using EfficientFT.Tensors.Autograd;

namespace EfficientFT.Peft.Methods;

/// <summary>
/// LoRA on one linear layer, y = W x + b + s·B(A(dropout(x))) (Hu et al. 2021), and with a magnitude vector DoRA
/// (Liu et al. 2024): y = b + (m/‖W + s·BA‖)·(W x + s·B A x), the row norm detached as DoRA §4.3 prescribes, so
/// backward treats it as a constant and the magnitude learns the scale alone. With dropout active DoRA follows peft:
/// the base output stays on the clean input and the magnitude's correction reads the dropped-out one, y = W x + b +
/// (m/n − 1)·W x′ + (m/n)·s·B A x′.
/// </summary>
public sealed class LoraAdapter(Tensor a, Tensor b, float scale, float dropout, Tensor? magnitude) : IMergeableAdapter, ILowRankAdapter
{
    private bool _merged;

    /// <summary>DoRA's row norm at merge time, which unmerge divides back out.</summary>
    private Tensor? _mergedNorm;

    /// <summary>lora_A, [r, in].</summary>
    public Tensor A { get; } = a;

    /// <summary>lora_B, [out, r].</summary>
    public Tensor B { get; } = b;

    /// <summary>DoRA's lora_magnitude_vector, [out]; null for plain LoRA.</summary>
    public Tensor? Magnitude { get; } = magnitude;

    /// <summary>s = α/r, or α/√r for rsLoRA.</summary>
    public float Scale { get; } = scale;

    public bool IsMerged => _merged;

    /// <summary>DoRA computes the weight's row norms from its values at every step.</summary>
    public bool MultipliesWeightAsIs => Magnitude == null;

    public Tensor Forward(Linear layer, Tensor x, ForwardContext context)
    {
        if (IsMerged) return Ops.Linear(x, layer.Weight, layer.Bias);
        // s·B(Ax) as B(s·Ax): the scale then costs r multiplies per token instead of out.
        if (Magnitude == null) return Ops.LowRankLinear(x, layer.Weight, layer.Bias, Code(x, context) * Scale, B);
        var rescale = Magnitude / WeightNorm(layer.Weight);
        if (context.Training && dropout > 0) return DroppedOutDora(layer, x, context, rescale);
        var code = Code(x, context) * Scale;
        var y = Ops.LowRankLinear(x, layer.Weight, null, code, B) * rescale;
        return layer.Bias == null ? y : y + layer.Bias;
    }

    /// <summary>DoRA in training with dropout, as peft computes it (see the class summary): one more product with W.</summary>
    private Tensor DroppedOutDora(Linear layer, Tensor x, ForwardContext context, Tensor rescale)
    {
        var dropped = context.Dropout(x, dropout);
        var wx = Ops.Linear(dropped, layer.Weight);
        var correction = (wx + Ops.Linear(Ops.Linear(dropped, A) * Scale, B)) * rescale - wx;
        return Ops.Linear(x, layer.Weight, layer.Bias) + correction;
    }

    public Tensor Code(Tensor x, ForwardContext context) => Ops.Linear(context.Dropout(x, dropout), A);

    /// <summary>‖W + s·B·A‖ per output row, as a constant [out] (no gradient flows through it).</summary>
    public Tensor WeightNorm(Tensor weight) => WeightNorm(weight, A, B, Scale);

    /// <summary>‖W + s·B·A‖ per output row of any factors, as a constant [out]: DoRA's magnitude starts there.</summary>
    public static Tensor WeightNorm(Tensor weight, Tensor a, Tensor b, float scale)
    {
        using var _ = GradMode.NoGrad();
        return Ops.VectorNorm(weight + Ops.MatMul(b, a) * scale, 1).Reshape(-1).Detach();
    }

    public void Merge(Linear layer)
    {
        if (IsMerged) throw new InvalidOperationException("The adapter is already merged.");
        using var _ = GradMode.NoGrad();
        var merged = layer.Weight + Ops.MatMul(B, A) * Scale;
        if (Magnitude != null)
        {
            _mergedNorm = WeightNorm(layer.Weight);
            merged = merged * (Magnitude / _mergedNorm).Reshape(-1, 1);
        }
        layer.Weight.CopyFrom(merged.AsSpan());
        _merged = true;
    }

    public void Unmerge(Linear layer)
    {
        if (!IsMerged) throw new InvalidOperationException("The adapter is not merged.");
        using var _ = GradMode.NoGrad();
        var weight = layer.Weight;
        if (Magnitude != null) weight = weight / (Magnitude / _mergedNorm!).Reshape(-1, 1);
        layer.Weight.CopyFrom((weight - Ops.MatMul(B, A) * Scale).AsSpan());
        _mergedNorm = null;
        _merged = false;
    }
}
