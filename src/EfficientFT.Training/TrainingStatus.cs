namespace EfficientFT.Training;

/// <summary>How a <see cref="Trainer"/> run ended.</summary>
public enum TrainingStatus
{
    Completed,

    /// <summary>A loss or the gradient norm was NaN or infinite; the parameters are those before the step that produced it.</summary>
    Diverged,

    /// <summary>The caller's cancellation token fired; the run stopped after the step in progress.</summary>
    Cancelled,
}
