using System.Diagnostics;
using System.Runtime.ExceptionServices;

namespace EfficientFT.Tensors.Blas;

/// <summary>
/// Dedicated threads for the blocked GEMM's parallel phases. A product runs two phases per Kc slice, a few
/// milliseconds each, back to back; with Parallel.For the pool worker had gone to sleep by the next phase and its
/// wake-up (or losing the core to another process meanwhile) left the phase to the calling thread alone, so
/// two-thread medians were 20–30% below OpenBLAS although the best runs matched. These workers spin for a short
/// while after each phase, as OpenBLAS's do, and block only when no product follows.
/// </summary>
internal static class GemmWorkers
{
    /// <summary>How long an idle worker spins before blocking: covers the gap between phases and between the
    /// products of consecutive layers, yet is short enough not to crowd out other work for long.</summary>
    private static readonly long SpinTicks = Stopwatch.Frequency / 5000;

    private static readonly Lock Gate = new();
    private static Worker[] _workers = [];
    private static int _pending;

    /// <summary>
    /// Runs body(0) … body(count − 1) concurrently, body(0) on the caller. If another product holds the workers
    /// (products issued from several threads at once), runs them one after another on the caller instead; callers
    /// must not rely on the bodies running at the same time.
    /// </summary>
    public static void Run(int count, Action<int> body)
    {
        if (count == 1 || !Gate.TryEnter())
        {
            for (var i = 0; i < count; i++) body(i);
            return;
        }
        try
        {
            if (_workers.Length < count - 1) Grow(count - 1);
            Volatile.Write(ref _pending, count - 1);
            for (var i = 1; i < count; i++) _workers[i - 1].Post(body, i);
            Exception? error = null;
            try
            {
                body(0);
            }
            catch (Exception e)
            {
                error = e;
            }
            var spin = new SpinWait();
            while (Volatile.Read(ref _pending) != 0) spin.SpinOnce(sleep1Threshold: -1);
            for (var i = 1; i < count && error == null; i++) error = _workers[i - 1].TakeError();
            if (error != null) ExceptionDispatchInfo.Throw(error);
        }
        finally
        {
            Gate.Exit();
        }
    }

    private static void Grow(int count)
    {
        var workers = new Worker[count];
        Array.Copy(_workers, workers, _workers.Length);
        for (var i = _workers.Length; i < count; i++) workers[i] = new Worker(i + 1);
        _workers = workers;
    }

    private sealed class Worker
    {
        private readonly SemaphoreSlim _wake = new(0);
        private Action<int>? _body;
        private int _index;
        private int _posted;
        private int _sleeping;
        private Exception? _error;

        public Worker(int id) =>
            new Thread(Loop) { IsBackground = true, Name = $"eft-gemm-{id}" }.Start();

        public void Post(Action<int> body, int index)
        {
            (_body, _index) = (body, index);
            // Full fences on both sides: either the worker sees the job before it blocks, or we see it asleep.
            Interlocked.Exchange(ref _posted, 1);
            if (Volatile.Read(ref _sleeping) == 1) _wake.Release();
        }

        public Exception? TakeError()
        {
            var error = _error;
            _error = null;
            return error;
        }

        private void Loop()
        {
            while (true)
            {
                WaitForJob();
                Volatile.Write(ref _posted, 0);
                try
                {
                    _body!(_index);
                }
                catch (Exception e)
                {
                    _error = e;
                }
                _body = null;
                Interlocked.Decrement(ref _pending);
            }
        }

        private void WaitForJob()
        {
            var start = Stopwatch.GetTimestamp();
            while (Volatile.Read(ref _posted) == 0)
            {
                if (Stopwatch.GetTimestamp() - start < SpinTicks)
                {
                    Thread.SpinWait(16);
                    continue;
                }
                Interlocked.Exchange(ref _sleeping, 1);
                if (Volatile.Read(ref _posted) == 0) _wake.Wait();
                Volatile.Write(ref _sleeping, 0);
                start = Stopwatch.GetTimestamp();
            }
        }
    }
}
