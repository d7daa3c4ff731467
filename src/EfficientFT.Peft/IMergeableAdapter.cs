using EfficientFT.Models.Nn;

namespace EfficientFT.Peft;

/// <summary>An adapter whose effect can be folded into the base weights and taken out again.</summary>
public interface IMergeableAdapter : ILinearAdapter
{
    /// <summary>Folds the adapter into <paramref name="layer"/>'s weight (and bias); the adapter is then bypassed.</summary>
    void Merge(Linear layer);

    /// <summary>Undoes <see cref="Merge"/>.</summary>
    void Unmerge(Linear layer);
}
