using System.Diagnostics;
using System.Numerics.Tensors;

namespace EfficientFT.Tensors.Blas;

/// <summary>Wall-clock comparison of matrix-product paths (<see cref="GemmPath"/>); a tool for choosing defaults, not a test.</summary>
public static class GemmBenchmark
{
    /// <summary>
    /// Pause between one path's block of runs and the next. OpenBLAS's threads keep spinning for about 2²⁸ cycles
    /// after a call (and ours for a fraction of a millisecond); interleaving calls run for run made each path share
    /// its cores with the other's idle spinners and cost the managed path up to a third of its two-thread speed.
    /// </summary>
    private static readonly TimeSpan SettleTime = TimeSpan.FromMilliseconds(200);

    /// <summary>
    /// Times every path on every shape at every thread count (<see cref="Threading.Count"/> is set for the duration,
    /// which also sets OpenBLAS's pool, and restored afterwards). Each path runs in blocks of warm-up plus timed
    /// runs, in two rounds with the order reversed in the second (A B, B A), so drifting load from elsewhere on the
    /// machine falls on all paths alike. Paths that do not apply to a shape are left out of its results.
    /// </summary>
    /// <exception cref="InvalidOperationException">A path's product differs from the first path's: its time would
    /// be the time of a wrong answer.</exception>
    public static IReadOnlyList<GemmBenchmarkResult> Run(IReadOnlyList<GemmPath> paths, IReadOnlyList<GemmShape> shapes,
        IReadOnlyList<int> threadCounts, int warmup, int repetitions, Action<GemmBenchmarkResult>? onResult = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(warmup);
        ArgumentOutOfRangeException.ThrowIfLessThan(repetitions, 1);
        var results = new List<GemmBenchmarkResult>();
        var savedThreads = Threading.Count;
        try
        {
            foreach (var shape in shapes)
            {
                var operands = Operands(shape);
                var bound = paths.Select(p => (Path: p, Call: p.Bind(operands)))
                    .Where(b => b.Call != null).Select(b => (b.Path, Call: b.Call!)).ToArray();
                foreach (var threads in threadCounts)
                {
                    Threading.Count = threads;
                    CheckAgreement(shape, threads, operands.C, bound);
                    var times = bound.Select(_ => new List<double>(repetitions)).ToArray();
                    for (var round = 0; round < 2; round++)
                    {
                        var count = round == 0 ? (repetitions + 1) / 2 : repetitions / 2;
                        for (var j = 0; j < bound.Length && count > 0; j++)
                        {
                            var i = round == 0 ? j : bound.Length - 1 - j;
                            Thread.Sleep(SettleTime);
                            for (var r = -warmup; r < count; r++)
                            {
                                var start = Stopwatch.GetTimestamp();
                                bound[i].Call();
                                if (r >= 0) times[i].Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
                            }
                        }
                    }
                    for (var i = 0; i < bound.Length; i++)
                    {
                        times[i].Sort();
                        var result = new GemmBenchmarkResult(bound[i].Path.Name, shape, threads, repetitions,
                            Median(times[i]), times[i][0], times[i][^1]);
                        results.Add(result);
                        onResult?.Invoke(result);
                    }
                }
            }
        }
        finally
        {
            Threading.Count = savedThreads;
        }
        return results;
    }

    /// <summary>
    /// Runs each path once into a C filled with NaN and compares it with the first path's C, at the thread count about
    /// to be timed (a product split across threads has its own ways to go wrong). An entry left unwritten stays NaN
    /// and fails the comparison. Paths may sum in different orders, so they may differ by rounding, which for these
    /// operands (entries in [−½, ½), k ≤ 3,072) stays far below 10⁻⁴ of the largest entry.
    /// </summary>
    private static void CheckAgreement(GemmShape shape, int threads, float[] c, IReadOnlyList<(GemmPath Path, Action Call)> bound)
    {
        float[]? reference = null;
        var scale = 0f;
        foreach (var (path, call) in bound)
        {
            Array.Fill(c, float.NaN);
            call();
            if (reference == null)
            {
                reference = (float[])c.Clone();
                // MaxMagnitude is NaN if any entry is: the reference path itself left an entry unwritten.
                scale = MathF.Abs(TensorPrimitives.MaxMagnitude(reference));
                if (float.IsNaN(scale))
                    throw new InvalidOperationException(
                        $"gemm benchmark: {path.Name} left entries of C unwritten or NaN at {shape} on {threads} thread(s).");
                continue;
            }
            var difference = 0f;
            // MathF.Max keeps a NaN once it has one, so an unwritten entry anywhere in C is caught.
            for (var i = 0; i < c.Length; i++) difference = MathF.Max(difference, MathF.Abs(c[i] - reference[i]));
            if (!(difference <= 1e-4f * scale))
                throw new InvalidOperationException(
                    $"gemm benchmark: {path.Name} and {bound[0].Path.Name} give different products at {shape} on {threads} " +
                    $"thread(s) (largest difference {difference:G3}, largest entry {scale:G3}); a timing of either would mean nothing.");
        }
    }

    private static GemmOperands Operands(GemmShape s)
    {
        var rng = new Random(1234);
        var a = new float[s.M * s.K];
        var b = new float[s.K * s.N];
        for (var i = 0; i < a.Length; i++) a[i] = (float)(rng.NextDouble() - 0.5);
        for (var i = 0; i < b.Length; i++) b[i] = (float)(rng.NextDouble() - 0.5);
        return new GemmOperands(s, a, s.TransposeA ? s.M : s.K, b, s.TransposeB ? s.K : s.N, new float[s.M * s.N]);
    }

    private static double Median(List<double> sorted) =>
        sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
}
