using EfficientFT.Tensors;

namespace EfficientFT.Models.Nn;

/// <summary>y = x·Wᵀ + b, with W [out, in] as torch.nn.Linear stores it.</summary>
public sealed class Linear(Tensor weight, Tensor? bias) : Module
{
    public Tensor Weight { get; set; } = weight;

    public Tensor? Bias { get; set; } = bias;

    public int InFeatures => Weight.Dim(1);

    public int OutFeatures => Weight.Dim(0);

    public static Linear Create(int inFeatures, int outFeatures, bool bias = true) =>
        new(Tensor.Zeros(outFeatures, inFeatures), bias ? Tensor.Zeros(outFeatures) : null);

    /// <summary>The method installed on this layer, if any; it then computes the whole output.</summary>
    public ILinearAdapter? Adapter { get; set; }

    public Tensor Forward(Tensor x, ForwardContext context) =>
        Adapter?.Forward(this, x, context) ?? Ops.Linear(x, Weight, Bias);

    protected override IEnumerable<(string Name, Tensor Value)> OwnTensors()
    {
        yield return ("weight", Weight);
        if (Bias != null) yield return ("bias", Bias);
    }
}
