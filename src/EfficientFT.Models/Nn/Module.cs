using EfficientFT.Tensors;

namespace EfficientFT.Models.Nn;

/// <summary>
/// A layer or model that owns tensors under Hugging Face names. Every module lists its own tensors and its children
/// explicitly (never by reflection), so a checkpoint's names map one to one onto the model.
/// </summary>
public abstract class Module
{
    /// <summary>This module's tensors and those of its children, with dotted names relative to this module.</summary>
    public abstract IEnumerable<(string Name, Tensor Value)> NamedTensors();

    /// <summary>The tensors that require gradients.</summary>
    public IEnumerable<(string Name, Tensor Value)> TrainableTensors() => NamedTensors().Where(p => p.Value.RequiresGrad);

    /// <summary>Prefixes a child's names: ("dense", child) yields "dense.weight", "dense.bias".</summary>
    protected static IEnumerable<(string Name, Tensor Value)> Child(string prefix, Module child) =>
        child.NamedTensors().Select(p => ($"{prefix}.{p.Name}", p.Value));

    /// <summary>Marks every tensor trainable or frozen.</summary>
    public void SetTrainable(bool trainable)
    {
        foreach (var (_, t) in NamedTensors()) t.RequiresGrad = trainable;
    }
}
