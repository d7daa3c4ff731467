using EfficientFT.Models;
using EfficientFT.Models.Nn;
using EfficientFT.Peft;
using EfficientFT.Training.Optimizers;

namespace EfficientFT.Training;

/// <summary>
/// One optimisation step of a PEFT model, the same for every method: forward, loss plus the method's loss terms,
/// backward, optimizer step, the method's after-step work (AdaLoRA's allocator), gradients cleared. Tests and
/// `eft train` both run it, so the fixtures check the path users run.
/// </summary>
public static class TrainingStep
{
    /// <summary>Runs step <paramref name="step"/> (1-based) and returns the loss it minimised.</summary>
    public static float Run(PeftModel peft, IOptimizer optimizer, ModelBatch batch, ForwardContext context, int step)
    {
        var output = peft.Forward(batch, context);
        var loss = output.Loss ?? throw new InvalidOperationException(
            $"{peft.Model.Architecture}: the batch has no labels, so there is no loss to train on.");
        if (peft.LossTerm() is { } term) loss = loss + term;
        var value = loss.Item();
        if (!float.IsFinite(value))
            throw new ArithmeticException($"step {step}: the loss is {value}; training diverged.");
        loss.Backward();
        optimizer.Step();
        peft.AfterOptimizerStep(step);
        optimizer.ZeroGrad();
        return value;
    }
}
