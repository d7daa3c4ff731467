using System.CommandLine;
using System.CommandLine.Parsing;
using EfficientFT.Tensors;
using EfficientFT.Tensors.Blas;

namespace EfficientFT.Cli.Commands;

/// <summary>`perf gemm`: GFLOP/s of each matrix-product path at the shapes a transformer layer produces.</summary>
public static class PerfGemmCommand
{
    /// <summary>
    /// M tokens × K inputs × N outputs of a BERT-base-sized layer: attention projections (768→768), the MLP up and
    /// down projections (768→3072, 3072→768) as C = X·Wᵀ at 2,048 tokens and at the 1,024 of `perf train`'s default
    /// batch (8 × 128), the same batch's input gradients dX = dY·W (plain X·W), and a short batch.
    /// </summary>
    private static readonly GemmShape[] Shapes =
    [
        GemmShape.Linear(2048, 768, 768),
        GemmShape.Linear(2048, 768, 3072),
        GemmShape.Linear(2048, 3072, 768),
        GemmShape.Linear(1024, 768, 768),
        GemmShape.Linear(1024, 768, 3072),
        GemmShape.Linear(1024, 3072, 768),
        new(1024, 768, 768, false, false),
        new(1024, 768, 3072, false, false),
        GemmShape.Linear(512, 768, 768),
    ];

    public static Command Create()
    {
        var threads = new Option<int[]>("--threads")
        {
            Description = "Thread counts to measure, as a list (1 2) or comma-separated (1,2).",
            AllowMultipleArgumentsPerToken = true,
            DefaultValueFactory = _ => Environment.ProcessorCount > 1 ? [1, Environment.ProcessorCount] : [1],
            CustomParser = ParseThreadCounts,
        };
        var reps = new Option<int>("--reps") { Description = "Timed repetitions per path, shape and thread count.", DefaultValueFactory = _ => 10 };
        var warmup = new Option<int>("--warmup") { Description = "Untimed runs first (JIT tiers, page faults, thread pool).", DefaultValueFactory = _ => 3 };
        var coreType = new Option<string>("--openblas-coretype")
        {
            Description = "keep: honour OPENBLAS_CORETYPE from the environment; auto: remove it so OpenBLAS detects the CPU.",
            DefaultValueFactory = _ => "keep",
        };
        coreType.AcceptOnlyFromAmong("keep", "auto");
        var naive = new Option<bool>("--naive") { Description = "Also time the naive reference, at 512×768×768 on one thread only (about a second per product)." };

        var command = new Command("gemm", "GFLOP/s of the managed, OpenBLAS (and naive) matrix products at transformer layer shapes.");
        foreach (var option in new Option[] { threads, reps, warmup, coreType, naive }) command.Options.Add(option);
        command.SetAction(parseResult => CommandErrors.Run(() => Run(parseResult.GetValue(threads)!, parseResult.GetValue(reps),
            parseResult.GetValue(warmup), parseResult.GetValue(coreType) == "auto", parseResult.GetValue(naive))));
        return command;
    }

    private static int[] ParseThreadCounts(ArgumentResult result)
    {
        var counts = new List<int>();
        foreach (var part in result.Tokens.SelectMany(t => t.Value.Split(',', StringSplitOptions.RemoveEmptyEntries)))
        {
            if (!int.TryParse(part, out var n) || n < 1)
            {
                result.AddError($"--threads: '{part}' is not a positive integer.");
                return [];
            }
            counts.Add(n);
        }
        return [.. counts];
    }

    private static int Run(int[] threadCounts, int reps, int warmup, bool autoCoreType, bool naive)
    {
        OpenBlas.AutoDetectCoreType = autoCoreType;
        // The packed path times the products as `eft train --packed-weights` runs them, the weight packed at load.
        var managed = new ManagedGemm();
        var paths = new List<GemmPath> { GemmPath.Plain(managed), GemmPath.PackedWeight(managed) };
        if (OpenBlas.IsAvailable) paths.Add(GemmPath.Plain(OpenBlasGemm.Instance));

        Console.WriteLine($"CPU threads {Environment.ProcessorCount}; OPENBLAS_CORETYPE={Environment.GetEnvironmentVariable("OPENBLAS_CORETYPE") ?? "(unset)"}");
        Console.WriteLine(OpenBlas.IsAvailable
            ? $"OpenBLAS {OpenBlas.LibraryPath}, core {OpenBlas.CoreName}"
            : $"OpenBLAS unavailable: {OpenBlas.LoadError}");
        Console.WriteLine($"Gemm.Default: {Gemm.Default.Name}");
        Console.WriteLine($"{reps} timed runs per path in two blocks (order A B, then B A), each after {warmup} warm-up; GFLOP/s = 2mnk / median.");
        Console.WriteLine("Each path's product is checked against the first's before it is timed.");
        Console.WriteLine();
        Console.WriteLine($"{"M×K×N op",-18} {"thr",3} {"path",-22} {"median ms",10} {"min ms",9} {"max ms",9} {"GFLOP/s",8}");

        void Print(GemmBenchmarkResult r) =>
            Console.WriteLine($"{r.Shape,-18} {r.Threads,3} {r.Path,-22} {r.MedianMs,10:F2} {r.MinMs,9:F2} {r.MaxMs,9:F2} {r.Gflops,8:F1}");
        var results = GemmBenchmark.Run(paths, Shapes, threadCounts, warmup, reps, Print);
        if (naive)
            GemmBenchmark.Run([GemmPath.Plain(NaiveGemm.Instance)], [GemmShape.Linear(512, 768, 768)], [1], 0, Math.Min(reps, 3), Print);

        if (!OpenBlas.IsAvailable) return 0;
        var ours = paths.Take(2).Select(p => p.Name).ToArray();
        Console.WriteLine();
        Console.WriteLine($"as a share of openblas (median GFLOP/s): {ours[0]}, {ours[1]}");
        foreach (var group in results.GroupBy(r => (r.Shape, r.Threads)))
        {
            var theirs = group.Single(r => r.Path == "openblas").Gflops;
            var shares = ours.Select(name => group.SingleOrDefault(r => r.Path == name) is { } r ? $"{100 * r.Gflops / theirs,6:F1} %" : "     –");
            Console.WriteLine($"{group.Key.Shape,-18} {group.Key.Threads,3} {string.Join("  ", shares)}");
        }
        return 0;
    }
}
