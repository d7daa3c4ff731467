using EfficientFT.Tensors;

namespace EfficientFT.Peft;

/// <summary>
/// A step hook that carries state from one step to the next (AdaLoRA's smoothed importance scores and its last rank
/// pattern). A checkpoint saves it beside the trained tensors, so a resumed run takes the same decisions as one that
/// was never interrupted.
/// </summary>
public interface IStatefulStepHook : IStepHook
{
    /// <summary>The state as tensors, under names that begin with the hook's own prefix.</summary>
    IEnumerable<KeyValuePair<string, Tensor>> SaveState();

    /// <summary>Replaces the state with what <see cref="SaveState"/> gave; names from other hooks are ignored.</summary>
    /// <exception cref="InvalidDataException">A tensor of this hook's has the wrong size.</exception>
    void LoadState(IReadOnlyDictionary<string, Tensor> state);
}
