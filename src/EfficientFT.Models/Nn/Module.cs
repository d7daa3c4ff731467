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

    /// <summary>
    /// Holds every frozen matrix (linear weights, embedding tables) in bfloat16, rounded to nearest, while everything
    /// is still computed in float32: half their memory, and no rounding at all for a checkpoint stored in bfloat16. The
    /// products widen a weight as they pack it and the embedding the rows it picks, so no float32 copy is made. A
    /// matrix that is later set to train (full fine-tuning, GaLore, a task head) goes back to float32 by itself;
    /// vectors (norms, biases) stay float32. Merging an adapter into a weight held so rounds the sum. Returns the
    /// bytes freed.
    /// </summary>
    /// <param name="except">Module paths whose tensors stay float32 (a task head that will train).</param>
    public long HoldFrozenMatricesInBFloat16(IEnumerable<string>? except = null)
    {
        var kept = (except ?? []).Select(path => path + ".").ToList();
        long freed = 0;
        foreach (var (name, tensor) in NamedTensors().DistinctBy(p => p.Value, ReferenceEqualityComparer.Instance))
        {
            if (tensor.Rank != 2 || tensor.RequiresGrad || tensor.IsBFloat16) continue;
            if (kept.Any(prefix => name.StartsWith(prefix, StringComparison.Ordinal))) continue;
            tensor.HoldInBFloat16();
            freed += 2L * tensor.Size;
        }
        return freed;
    }

    /// <summary>
    /// The weights worth holding packed for the matrix products (<see cref="Tensor.HoldPacked"/>): frozen float32
    /// linear-layer weights that their layer multiplies as they are (no adapter, or one that <see cref="ILinearAdapter.MultipliesWeightAsIs"/>)
    /// and that no other module lists (an embedding tied to the output layer gathers rows from it, so it stays as it is).
    /// </summary>
    public IReadOnlyList<Tensor> FrozenLinearWeights()
    {
        var linearWeights = NamedModules()
            .Where(m => m.Module is Linear { Adapter: null or { MultipliesWeightAsIs: true } })
            .Select(m => m.Path + ".weight").ToHashSet();
        var readElsewhere = NamedTensors().Where(p => !linearWeights.Contains(p.Name)).Select(p => p.Value)
            .ToHashSet(ReferenceEqualityComparer.Instance);
        return NamedTensors().Where(p => linearWeights.Contains(p.Name)).Select(p => p.Value)
            .Distinct(ReferenceEqualityComparer.Instance).Cast<Tensor>()
            .Where(t => !t.RequiresGrad && !t.IsBFloat16 && !t.IsPacked && !readElsewhere.Contains(t)).ToList();
    }

    /// <summary>Marks every tensor trainable or frozen.</summary>
    public void SetTrainable(bool trainable)
    {
        foreach (var (_, t) in NamedTensors()) t.RequiresGrad = trainable;
    }
}
