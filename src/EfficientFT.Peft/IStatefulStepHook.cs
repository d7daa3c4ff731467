using EfficientFT.Models.SafeTensors;

namespace EfficientFT.Peft;

/// <summary>
/// A method whose state between steps is more than its trained tensors (AdaLoRA's smoothed importance scores and
/// rank pattern, SIFT's sparse indices). A checkpoint saves it beside them, so a resumed run takes the same
/// decisions as one that was never interrupted.
/// </summary>
public interface IStatefulStepHook : IStepHook
{
    /// <summary>The state as safetensors entries, under names that begin with the hook's own prefix.</summary>
    IEnumerable<SafeTensorsEntry> SaveState();

    /// <summary>Replaces the state with what <see cref="SaveState"/> wrote; entries of other hooks are ignored.</summary>
    /// <exception cref="InvalidDataException">An entry of this hook's does not fit the model it is loaded into.</exception>
    void LoadState(SafeTensorsFile state);
}
