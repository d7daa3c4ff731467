namespace EfficientFT.Tensors;

/// <summary>
/// The engine's thread count and its work partitioning. Work is split into the same chunks for a given thread count,
/// or claimed item by item where an item's result does not depend on the thread that runs it, and each output
/// element is written by exactly one chunk or item, so results are bitwise identical from run to run (the
/// determinism contract: same seed and thread count, same bits).
/// </summary>
public static class Threading
{
    private static int _count = InitialCount();

    /// <summary>Threads used by kernels. Defaults to EFT_THREADS, else the processor count.</summary>
    public static int Count
    {
        get => _count;
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, 1);
            _count = value;
            ThreadCountChanged?.Invoke(value);
        }
    }

    [ThreadStatic] private static bool _insideParallelRegion;

    /// <summary>
    /// True on a thread that is running one chunk of <see cref="For"/> or items of <see cref="ForEachClaimed{TState}"/>.
    /// Kernels called from there (a GEMM inside a per-head attention loop) run single-threaded instead of splitting
    /// again, which would oversubscribe the cores.
    /// </summary>
    public static bool InsideParallelRegion => _insideParallelRegion;

    /// <summary>Raised when <see cref="Count"/> changes, so native pools (OpenBLAS) can follow.</summary>
    internal static event Action<int>? ThreadCountChanged;

    private static int InitialCount()
    {
        var env = Environment.GetEnvironmentVariable("EFT_THREADS");
        return int.TryParse(env, out var n) && n > 0 ? n : Environment.ProcessorCount;
    }

    /// <summary>
    /// Runs <paramref name="body"/>(start, end) over [0, <paramref name="length"/>) split into at most
    /// <see cref="Count"/> contiguous ranges. Runs inline when the work is too small to pay for a thread hand-off.
    /// </summary>
    /// <param name="costPerItem">Rough cost of one item in floating-point operations, to decide whether to split.</param>
    public static void For(int length, long costPerItem, Action<int, int> body)
    {
        var threads = ThreadsFor(length, costPerItem);
        if (threads <= 1)
        {
            if (length > 0) body(0, length);
            return;
        }

        // The GEMM's dedicated workers rather than the thread pool: one set of briefly spinning threads serves every
        // kernel, where pool threads and GEMM workers spun side by side for two cores. Six small-model runs on two
        // threads: 27.3 s with 7.1 s in the kernel before, 20.0 s with 3.3 s after.
        Blas.GemmWorkers.Run(threads, InParallelRegion(t =>
        {
            var start = (int)((long)length * t / threads);
            var end = (int)((long)length * (t + 1) / threads);
            if (end > start) body(start, end);
        }));
    }

    /// <summary>
    /// Runs <paramref name="body"/>(i, state) for every i in [0, <paramref name="length"/>) on up to <see cref="Count"/>
    /// threads that claim items one at a time, each with its own <paramref name="state"/>() (scratch made once per
    /// thread). Unlike <see cref="For"/>'s equal ranges, a thread that runs slow hands its remaining items to the
    /// others. Only for items whose results do not depend on which thread runs them or when: each writes only its
    /// own outputs and leaves nothing in the state that a later item reads.
    /// </summary>
    public static void ForEachClaimed<TState>(int length, long costPerItem, Func<TState> state, Action<int, TState> body)
    {
        var threads = ThreadsFor(length, costPerItem);
        if (threads <= 1)
        {
            var single = length > 0 ? state() : default!;
            for (var i = 0; i < length; i++) body(i, single);
            return;
        }
        var next = -1;
        Blas.GemmWorkers.Run(threads, InParallelRegion(_ =>
        {
            var own = state();
            int i;
            while ((i = Interlocked.Increment(ref next)) < length) body(i, own);
        }));
    }

    private static int ThreadsFor(int length, long costPerItem)
    {
        const long minWorkPerThread = 32_768;
        var threads = _insideParallelRegion ? 1 : (int)Math.Min(Count, Math.Max(1, length * Math.Max(1, costPerItem) / minWorkPerThread));
        return Math.Min(threads, length);
    }

    /// <summary>A thread's part, run with <see cref="InsideParallelRegion"/> set; wrapped once per call, not per part.</summary>
    private static Action<int> InParallelRegion(Action<int> part) => t =>
    {
        var outer = _insideParallelRegion;
        _insideParallelRegion = true;
        try { part(t); }
        finally { _insideParallelRegion = outer; }
    };
}
