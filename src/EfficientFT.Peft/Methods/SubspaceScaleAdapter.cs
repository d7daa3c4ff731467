using EfficientFT.Models.Nn;
using EfficientFT.Tensors;
using EfficientFT.Tensors.Autograd;

namespace EfficientFT.Peft.Methods;

/// <summary>
/// Subspace-Tuning's diagonal scalings of a frozen weight, W' = diag(l_out)·W·diag(l_in) with either side optional,
/// formed as loralib does (lora_row.view(1, −1) * W * lora) so the products round as in the reference. The bias is
/// never scaled.
/// </summary>
public sealed class SubspaceScaleAdapter(Tensor? inScale, Tensor? outScale) : IMergeableAdapter
{
    private bool _merged;

    /// <summary>Per-input-feature scale, [in, 1], or null.</summary>
    public Tensor? InScale { get; } = inScale;

    /// <summary>Per-output-feature scale, [out, 1], or null.</summary>
    public Tensor? OutScale { get; } = outScale;

    public Tensor Forward(Linear layer, Tensor x, ForwardContext context) =>
        Ops.Linear(x, _merged ? layer.Weight : Scaled(layer.Weight), layer.Bias);

    private Tensor Scaled(Tensor weight)
    {
        if (InScale != null) weight = weight * InScale.Reshape(1, -1);
        if (OutScale != null) weight = weight * OutScale;
        return weight;
    }

    public void Merge(Linear layer)
    {
        if (_merged) throw new InvalidOperationException("The adapter is already merged.");
        using var _ = GradMode.NoGrad();
        layer.Weight.CopyFrom(Scaled(layer.Weight).Contiguous().AsSpan());
        _merged = true;
    }

    /// <summary>Divides the scales back out: exact only while no scale is zero.</summary>
    public void Unmerge(Linear layer)
    {
        if (!_merged) throw new InvalidOperationException("The adapter is not merged.");
        using var _ = GradMode.NoGrad();
        var weight = layer.Weight;
        if (InScale != null) weight = weight / InScale.Reshape(1, -1);
        if (OutScale != null) weight = weight / OutScale;
        layer.Weight.CopyFrom(weight.Contiguous().AsSpan());
        _merged = false;
    }
}
