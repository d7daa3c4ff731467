namespace EfficientFT.Training.Optimizers;

/// <summary>What a training loop needs of an optimizer: a step over the current gradients, and clearing them.</summary>
public interface IOptimizer
{
    /// <summary>Multiplies every group's learning rate (schedules set it).</summary>
    double LearningRateScale { get; set; }

    void Step();

    void ZeroGrad();
}
