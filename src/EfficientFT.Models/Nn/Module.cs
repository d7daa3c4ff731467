using EfficientFT.Tensors;

namespace EfficientFT.Models.Nn;

/// <summary>
/// A layer or model that owns tensors under Hugging Face names. Every module lists its own tensors and its children
/// explicitly (never by reflection), so a checkpoint's names map one to one onto the model and a PEFT method can find
/// every projection by its module path.
/// </summary>
public abstract class Module
{
    /// <summary>The tensors this module holds itself, by their short names ("weight", "bias").</summary>
    protected virtual IEnumerable<(string Name, Tensor Value)> OwnTensors() => [];

    /// <summary>The child modules, by their dotted paths relative to this module ("attention.self.query").</summary>
    protected virtual IEnumerable<(string Name, Module Child)> Children() => [];

    /// <summary>This module's tensors and those of its descendants, with dotted names relative to this module.</summary>
    public IEnumerable<(string Name, Tensor Value)> NamedTensors() =>
        OwnTensors().Concat(Children().SelectMany(c => c.Child.NamedTensors().Select(p => ($"{c.Name}.{p.Name}", p.Value))));

    /// <summary>Every descendant module with its dotted path, parents before children.</summary>
    public IEnumerable<(string Path, Module Module)> NamedModules() =>
        Children().SelectMany(c => c.Child.NamedModules().Select(m => ($"{c.Name}.{m.Path}", m.Module)).Prepend((c.Name, c.Child)));

    /// <summary>Marks every tensor trainable or frozen.</summary>
    public void SetTrainable(bool trainable)
    {
        foreach (var (_, t) in NamedTensors()) t.RequiresGrad = trainable;
    }
}
