using EfficientFT.Tensors;

namespace EfficientFT.Peft;

/// <summary>
/// How a method that is more than a layer takes part in training without special cases in the trainer: a term added
/// to the loss (AdaLoRA's orthogonal regularizer, MPC constraints) and work after each optimizer step (AdaLoRA's rank
/// allocation). A hook that takes part in only one of the two leaves the other as it is.
/// </summary>
public interface IStepHook
{
    /// <summary>A term to add to the task loss for this step, or null.</summary>
    Tensor? LossTerm() => null;

    /// <summary>Called after optimizer step <paramref name="step"/> (1-based), gradients still in place.</summary>
    void AfterOptimizerStep(int step)
    {
    }
}
