using EfficientFT.Tensors;

namespace EfficientFT.Models.Nn;

/// <summary>The activations config.json names in hidden_act, as transformers' ACT2FN maps them.</summary>
public static class Activation
{
    public static readonly string[] Supported = ["gelu", "relu", "silu", "swish", "tanh"];

    public static Tensor Apply(string name, Tensor x) => name switch
    {
        "gelu" => Ops.Gelu(x),
        "silu" or "swish" => Ops.Silu(x),
        "tanh" => Ops.Tanh(x),
        "relu" => Ops.Relu(x),
        _ => throw new NotSupportedException($"hidden_act '{name}' is not supported; supported: {string.Join(", ", Supported)}."),
    };
}
