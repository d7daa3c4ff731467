using EfficientFT.Tensors.Autograd;

namespace EfficientFT.Training;

/// <summary>
/// What the trainer does with memory between steps. Activations outlive the collections that run during forward, so
/// the runtime promotes them to its oldest generation, which it collects only after the heap has grown by a share of
/// itself: left alone, the heap peaks near what is live plus a whole step of garbage (RoBERTa-base, batch 8 × 128:
/// 2.6 GB resident where 1.55 GB is live). At a step's end everything the step allocated is garbage and little else
/// is, so one blocking full collection that does not compact costs little there (20–50 ms at that size: only weights
/// and optimizer state are marked), and an <see cref="ActivationRecycler"/> then takes the step's activations back
/// for the next step instead of the runtime decommitting them.
/// </summary>
/// <remarks>
/// Both start with the first step that allocates <see cref="CollectAfterBytes"/> or more, and from then on every step
/// ends with the collection (a recycled step allocates little, but its activations come back only through one).
/// Smaller steps are left to the runtime, which reuses their memory well, where holding it for reuse would only
/// raise the peak.
/// </remarks>
internal sealed class StepMemory : IDisposable
{
    private const long CollectAfterBytes = 256L << 20;

    private ActivationRecycler? _recycler;
    private long _allocatedAtStart;

    public void BeginStep() => _allocatedAtStart = GC.GetTotalAllocatedBytes();

    public void EndStep()
    {
        if (_recycler == null && GC.GetTotalAllocatedBytes() - _allocatedAtStart < CollectAfterBytes) return;
        ActivationRecycler.CollectGarbage();
        OpProfile.Lap("(collection at the step's end)");
        _recycler ??= new ActivationRecycler();
    }

    public void Dispose() => _recycler?.Dispose();
}
