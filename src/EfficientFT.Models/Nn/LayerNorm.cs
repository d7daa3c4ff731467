using EfficientFT.Tensors;

namespace EfficientFT.Models.Nn;

/// <summary>LayerNorm over the last axis with affine weight and bias.</summary>
public sealed class LayerNorm(int size, float eps) : Module
{
    public Tensor Weight { get; } = Tensor.Ones(size);

    public Tensor Bias { get; } = Tensor.Zeros(size);

    public float Eps { get; } = eps;

    public Tensor Forward(Tensor x) => Ops.LayerNorm(x, Weight, Bias, Eps);

    protected override IEnumerable<(string Name, Tensor Value)> OwnTensors() => [("weight", Weight), ("bias", Bias)];
}
