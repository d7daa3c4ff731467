namespace EfficientFT.Tensors.Autograd;

/// <summary>
/// Reuses the storage of activations from one training step to the next. After the step-end collection the runtime
/// decommits much of the memory it freed, so every step faulted its activations in again page by page (RoBERTa-base
/// at batch 8 × 128: 68 k faults per step at about 2.2 µs each on these machines; recycling only the 12 MB FFN tensors
/// just moved the faults to the 3 MB ones). While a recycler is active on a thread, arrays of
/// <see cref="MinLength"/> floats or more for new tensors come from it; <see cref="Reclaim"/>, called right after a full
/// blocking collection, takes back every array whose tensors (the one it was made for and any view of it) have all
/// been collected, so no live tensor ever shares its storage. With it: 1.6 k faults per step and 4–8% off the step.
/// </summary>
/// <remarks>
/// Sound because storage is reachable only through tensors: ops capture the arrays of their inputs and output, which
/// the graph keeps alive for as long as the closure can run, and a span handed out cannot outlive the caller's frame.
/// </remarks>
public sealed class ActivationRecycler : IDisposable
{
    /// <summary>Arrays this long or longer are recycled (1 MB); smaller ones the runtime reuses well by itself.</summary>
    public const int MinLength = 1 << 18;

    /// <summary>Every recycled array handed out by any recycler, with the tensors over it.</summary>
    private static readonly Dictionary<float[], List<WeakReference<Tensor>>> Owners = new(ReferenceEqualityComparer.Instance);

    private static readonly object Lock = new();

    [ThreadStatic] private static ActivationRecycler? _current;

    private readonly ActivationRecycler? _outer;
    private readonly List<float[]> _handedOut = [];
    private readonly FreeArrays _free = new();

    /// <summary>Starts recycling on the calling thread until <see cref="Dispose"/>.</summary>
    public ActivationRecycler()
    {
        _outer = _current;
        _current = this;
    }

    /// <summary>Bytes handed out and not yet taken back: what the next reclaim could reuse.</summary>
    public long OutstandingBytes
    {
        get
        {
            lock (Lock) return _handedOut.Sum(a => 4L * a.Length);
        }
    }

    /// <summary>
    /// Takes back the arrays whose tensors have all been collected. Call it right after a full blocking collection,
    /// which is what clears the weak references it reads.
    /// </summary>
    public void Reclaim()
    {
        lock (Lock)
        {
            // What the last step did not reuse goes back to the runtime: with shapes that change from step to step
            // (padding trimmed per batch) the free lists would otherwise fill with sizes nobody asks for again.
            // Only a step's own arrays are held, so what is kept never exceeds what one step used.
            _free.Clear();
            for (var i = _handedOut.Count - 1; i >= 0; i--)
            {
                var array = _handedOut[i];
                if (Owners.TryGetValue(array, out var owners) && owners.Exists(o => o.TryGetTarget(out _))) continue;
                _handedOut.RemoveAt(i);
                Owners.Remove(array);
                _free.Put(array);
            }
        }
    }

    /// <summary>
    /// A blocking full collection that does not compact, then <see cref="Reclaim"/> by the recycler active on this
    /// thread, if any: for code that knows most of what it allocated has just become garbage (a training step's end,
    /// a checkpointed segment's).
    /// </summary>
    public static void CollectGarbage()
    {
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: false);
        _current?.Reclaim();
    }

    /// <summary>Stops recycling; arrays still in use stay with their tensors, the rest go back to the runtime.</summary>
    public void Dispose()
    {
        if (!ReferenceEquals(_current, this)) throw new InvalidOperationException("ActivationRecycler: disposed out of order or on another thread.");
        _current = _outer;
        lock (Lock)
        {
            foreach (var array in _handedOut) Owners.Remove(array);
            _handedOut.Clear();
            _free.Clear();
        }
    }

    /// <summary>An array of exactly <paramref name="length"/> floats for a new tensor, contents undefined.</summary>
    internal static float[] Rent(int length)
    {
        var recycler = _current;
        if (recycler == null || length < MinLength) return GC.AllocateUninitializedArray<float>(length);
        lock (Lock)
        {
            if (!recycler._free.TryTake(length, out var array)) array = GC.AllocateUninitializedArray<float>(length);
            recycler._handedOut.Add(array);
            Owners[array] = [];
            return array;
        }
    }

    /// <summary>Records <paramref name="tensor"/> as one of the tensors over a recycled array (no-op for others).</summary>
    internal static void Register(float[] storage, Tensor tensor)
    {
        if (storage.Length < MinLength) return;
        lock (Lock)
        {
            if (Owners.TryGetValue(storage, out var owners)) owners.Add(new WeakReference<Tensor>(tensor));
        }
    }
}
