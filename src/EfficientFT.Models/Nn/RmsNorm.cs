using EfficientFT.Tensors;

namespace EfficientFT.Models.Nn;

/// <summary>LLaMA's RMSNorm over the last axis (weight only).</summary>
public sealed class RmsNorm(int size, float eps) : Module
{
    public Tensor Weight { get; } = Tensor.Ones(size);

    public float Eps { get; } = eps;

    public Tensor Forward(Tensor x) => Ops.RmsNorm(x, Weight, Eps);

    protected override IEnumerable<(string Name, Tensor Value)> OwnTensors() => [("weight", Weight)];
}
