using EfficientFT.Tensors;

namespace EfficientFT.Models.Nn;

/// <summary>A lookup table [count, dim]; the padding row, if any, receives no gradient.</summary>
public sealed class Embedding(int count, int dim, int? paddingIndex = null) : Module
{
    public Tensor Weight { get; set; } = Tensor.Zeros(count, dim);

    public int? PaddingIndex { get; } = paddingIndex;

    public Tensor Forward(ReadOnlySpan<int> ids, int[] idsShape) => Ops.Embedding(Weight, ids, idsShape, PaddingIndex);

    protected override IEnumerable<(string Name, Tensor Value)> OwnTensors() => [("weight", Weight)];
}
