using EfficientFT.Models.Nn;
using EfficientFT.Tensors;
using EfficientFT.Tensors.Autograd;

namespace EfficientFT.Peft.Methods;

/// <summary>
/// AdaLoRA on one linear layer: the update in SVD form P Λ Q of Zhang et al. (2023), stored as peft 0.15.1 stores
/// it, y = W x + b + (dropout(x) (A⊙E)ᵀ Bᵀ) · α/(ranknum + 1e-5) with A = Q [r, in], E = diag Λ [r, 1],
/// B = P [out, r]. ranknum is the rank the layer was created with and stays so when triplets are pruned (peft
/// never updates it), so pruning a triplet removes its term without rescaling the others.
/// </summary>
public sealed class AdaLoraAdapter(Tensor a, Tensor e, Tensor b, float alpha, int rankNumber, float dropout, int[] slots)
    : IMergeableAdapter, ILowRankAdapter
{
    private bool _merged;

    /// <summary>lora_A, [r, in]: the right singular vectors Q.</summary>
    public Tensor A { get; } = a;

    /// <summary>lora_E, [r, 1]: the singular values Λ, zeroed where a triplet is pruned.</summary>
    public Tensor E { get; } = e;

    /// <summary>lora_B, [out, r]: the left singular vectors P.</summary>
    public Tensor B { get; } = b;

    /// <summary>α/(ranknum + 1e-5), rounded as peft's float32 ranknum parameter makes it.</summary>
    public float Scale { get; } = alpha / (rankNumber + 1e-5f);

    /// <summary>peft's ranknum: the initial rank, which sets the scale forever.</summary>
    public int RankNumber { get; } = rankNumber;

    /// <summary>
    /// For each row of A (and E, and column of B), its index among the initial ranks: 0..r−1 for a new layer, the
    /// kept indices for one loaded from a rank-truncated adapter. rank_pattern is written over the initial ranks.
    /// </summary>
    public IReadOnlyList<int> Slots { get; } = slots;

    public int Rank => A.Dim(0);

    public bool IsMerged => _merged;

    public Tensor Code(Tensor x, ForwardContext context) => Ops.Linear(context.Dropout(x, dropout), A * E);

    public bool MultipliesWeightAsIs => true;

    public Tensor Forward(Linear layer, Tensor x, ForwardContext context)
    {
        var y = Ops.Linear(x, layer.Weight, layer.Bias);
        return IsMerged ? y : y + Ops.Linear(Code(x, context), B) * Scale;
    }

    /// <summary>B (A⊙E) · α/(ranknum + 1e-5), the update folded into W.</summary>
    public Tensor Delta()
    {
        using var _ = GradMode.NoGrad();
        return Ops.MatMul(B, A * E) * Scale;
    }

    public void Merge(Linear layer)
    {
        if (IsMerged) throw new InvalidOperationException("The adapter is already merged.");
        using var _ = GradMode.NoGrad();
        layer.Weight.CopyFrom((layer.Weight + Delta()).AsSpan());
        _merged = true;
    }

    public void Unmerge(Linear layer)
    {
        if (!IsMerged) throw new InvalidOperationException("The adapter is not merged.");
        using var _ = GradMode.NoGrad();
        layer.Weight.CopyFrom((layer.Weight - Delta()).AsSpan());
        _merged = false;
    }
}
