using EfficientFT.Tensors;

namespace EfficientFT.Training.Optimizers;

/// <summary>
/// An optimizer whose state (moments, step counts) can be written to a checkpoint and read back, so a resumed run
/// takes the same updates as one that never stopped. Keys are positions in the optimizer's tensor order, which is
/// the same for any optimizer built the same way over the same model.
/// </summary>
public interface ICheckpointableOptimizer : IOptimizer
{
    IEnumerable<KeyValuePair<string, Tensor>> SaveState();

    void LoadState(IReadOnlyDictionary<string, Tensor> state);
}
