using System.Diagnostics;

namespace EfficientFT.Tensors.Blas;

/// <summary>Wall-clock comparison of <see cref="IGemm"/> paths; a tool for choosing defaults, not a test.</summary>
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
    /// machine falls on all paths alike.
    /// </summary>
    public static IReadOnlyList<GemmBenchmarkResult> Run(IReadOnlyList<IGemm> paths, IReadOnlyList<GemmShape> shapes,
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
                var (a, lda, b, ldb) = Operands(shape);
                var c = new float[shape.M * shape.N];
                foreach (var threads in threadCounts)
                {
                    Threading.Count = threads;
                    var times = paths.Select(_ => new List<double>(repetitions)).ToArray();
                    for (var round = 0; round < 2; round++)
                    {
                        var count = round == 0 ? (repetitions + 1) / 2 : repetitions / 2;
                        for (var j = 0; j < paths.Count && count > 0; j++)
                        {
                            var i = round == 0 ? j : paths.Count - 1 - j;
                            Thread.Sleep(SettleTime);
                            for (var r = -warmup; r < count; r++)
                            {
                                var start = Stopwatch.GetTimestamp();
                                paths[i].Multiply(shape.TransposeA, shape.TransposeB, shape.M, shape.N, shape.K,
                                    1f, a, lda, b, ldb, 0f, c, shape.N);
                                if (r >= 0) times[i].Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
                            }
                        }
                    }
                    for (var i = 0; i < paths.Count; i++)
                    {
                        times[i].Sort();
                        var result = new GemmBenchmarkResult(paths[i].Name, shape, threads, repetitions,
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

    private static (float[] A, int Lda, float[] B, int Ldb) Operands(GemmShape s)
    {
        var rng = new Random(1234);
        var a = new float[s.M * s.K];
        var b = new float[s.K * s.N];
        for (var i = 0; i < a.Length; i++) a[i] = (float)(rng.NextDouble() - 0.5);
        for (var i = 0; i < b.Length; i++) b[i] = (float)(rng.NextDouble() - 0.5);
        return (a, s.TransposeA ? s.M : s.K, b, s.TransposeB ? s.K : s.N);
    }

    private static double Median(List<double> sorted) =>
        sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
}
