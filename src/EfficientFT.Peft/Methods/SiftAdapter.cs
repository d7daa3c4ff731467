using EfficientFT.Models.Nn;
using EfficientFT.Tensors;

namespace EfficientFT.Peft.Methods;

/// <summary>SIFT on one linear layer: y = x·(W + scatter(δ_W))ᵀ + (b + scatter(δ_b)).</summary>
public sealed class SiftAdapter(SparseIncrement weight, SparseIncrement? bias) : IMergeableAdapter
{
    private bool _merged;

    public SparseIncrement Weight { get; } = weight;

    /// <summary>Null for a layer without a bias.</summary>
    public SparseIncrement? Bias { get; } = bias;

    public Tensor Forward(Linear layer, Tensor x, ForwardContext context) => _merged
        ? Ops.Linear(x, layer.Weight, layer.Bias)
        : Ops.Linear(x, Weight.Effective(), Bias?.Effective());

    public void Merge(Linear layer)
    {
        if (_merged) throw new InvalidOperationException("The adapter is already merged.");
        Fold(1);
        _merged = true;
    }

    public void Unmerge(Linear layer)
    {
        if (!_merged) throw new InvalidOperationException("The adapter is not merged.");
        Fold(-1);
        _merged = false;
    }

    private void Fold(float sign)
    {
        Fold(Weight, sign);
        if (Bias != null) Fold(Bias, sign);
    }

    // Through a copy and CopyFrom, so a weight held in bfloat16 takes the sum rounded.
    private static void Fold(SparseIncrement increment, float sign)
    {
        var dense = increment.Dense.ToArray();
        increment.AddScattered(dense, sign);
        increment.Dense.CopyFrom(dense);
    }
}
