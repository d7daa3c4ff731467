using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using EfficientFT.Models;
using EfficientFT.Models.Configs;
using EfficientFT.Models.Nn;
using EfficientFT.Peft;
using EfficientFT.Tensors;
using EfficientFT.Tensors.Autograd;
using EfficientFT.Tensors.Blas;
using EfficientFT.Training;
using EfficientFT.Training.Optimizers;
using EfficientFT.Training.Schedules;

namespace EfficientFT.Cli.Commands;

/// <summary>
/// `perf train`: times whole training steps (forward, loss, backward, optimizer) of a model with random weights at
/// a shape preset or a config.json, and prints ms/step, tokens/s, peak memory, the step's matrix-product FLOPs (counted
/// at the GEMM, not estimated) and the share of the GEMM peak measured in the same process.
/// </summary>
public static class PerfTrainCommand
{
    public static Command Create()
    {
        var arch = new Option<string>("--arch") { Description = "roberta-base, llama-1b, or a config.json path.", DefaultValueFactory = _ => "roberta-base" };
        var method = new Option<string>("--method") { Description = "A registered method (see `eft methods`), or full: every tensor trains, embeddings included.", DefaultValueFactory = _ => "lora" };
        var targets = new Option<string>("--targets") { Description = "Adapted modules.", DefaultValueFactory = _ => "q,v" };
        var rank = new Option<int>("--rank") { DefaultValueFactory = _ => 8 };
        var batch = new Option<int>("--batch") { DefaultValueFactory = _ => 8 };
        var seq = new Option<int>("--seq") { DefaultValueFactory = _ => 128 };
        var layers = new Option<int?>("--layers") { Description = "Override the number of layers (quick runs)." };
        var threads = new Option<int?>("--threads") { Description = "Engine threads (default: EFT_THREADS or all cores)." };
        var steps = new Option<int>("--steps") { Description = "Timed steps.", DefaultValueFactory = _ => 5 };
        var warmup = new Option<int>("--warmup") { Description = "Untimed steps first.", DefaultValueFactory = _ => 2 };
        var profile = new Option<bool>("--profile") { Description = "Also print where the timed steps' time goes, op by op (forward and backward)." };
        var checkpointing = new Option<bool>("--gradient-checkpointing") { Description = "Recompute each layer's activations in backward instead of keeping them." };
        var frozenBf16 = new Option<bool>("--frozen-bf16") { Description = "Hold the frozen weights in bfloat16 (half their memory); compute stays float32." };
        var packed = PackedWeightsOption.Create();
        var command = new Command("train", "Time training steps at a model shape and compare with the matrix-product bound.")
        {
            arch, method, targets, rank, batch, seq, layers, threads, steps, warmup, profile, checkpointing, frozenBf16, packed,
        };
        command.SetAction(r => CommandErrors.Run(() =>
        {
            if (r.GetValue(threads) is { } t)
            {
                if (t < 1) throw new ArgumentException($"--threads {t} must be at least 1.");
                Threading.Count = t;
            }
            if (r.GetValue(steps) < 1 || r.GetValue(warmup) < 0)
                throw new ArgumentException($"--steps {r.GetValue(steps)} must be at least 1 and --warmup {r.GetValue(warmup)} not negative.");
            return Run(r.GetValue(arch)!, r.GetValue(method)!, r.GetValue(targets)!, r.GetValue(rank), r.GetValue(batch),
                r.GetValue(seq), r.GetValue(layers), r.GetValue(steps), r.GetValue(warmup), r.GetValue(profile), r.GetValue(checkpointing),
                r.GetValue(frozenBf16), PackedWeightsOption.Value(r, packed));
        }));
        return command;
    }

    private static ModelConfig Preset(string arch, int? layers)
    {
        ModelConfig config = arch switch
        {
            "roberta-base" => RobertaConfig.Default() with { VocabSize = 50265, MaxPositionEmbeddings = 514, TypeVocabSize = 1 },
            "llama-1b" => LlamaConfig.Default() with
            {
                // Llama-3.2-1B's shapes.
                VocabSize = 128256, HiddenSize = 2048, NumHiddenLayers = 16, NumAttentionHeads = 32, NumKeyValueHeads = 8,
                HeadDim = 64, IntermediateSize = 8192, RopeTheta = 500000, TieWordEmbeddings = true, PadTokenId = 0,
            },
            _ when File.Exists(arch) => ModelConfig.Load(arch),
            _ => throw new ArgumentException($"--arch '{arch}' is neither a preset (roberta-base, llama-1b) nor a config.json file."),
        };
        return layers is { } n ? config with { NumHiddenLayers = n } : config;
    }

    private static int Run(string arch, string method, string targets, int rank, int batchSize, int length, int? layers, int steps, int warmup, bool profile, bool checkpointing,
        bool frozenBf16, PackedWeights packedWeights)
    {
        var config = Preset(arch, layers);
        var model = Pretrained.Create(config, config is RobertaConfig ? "RobertaForSequenceClassification" : "LlamaForCausalLM");
        var rng = new Rng(0);
        long freed = 0;
        foreach (var (name, tensor) in model.NamedTensors())
        {
            if (tensor.Rank != 2) continue;
            // Uniform with the usual 0.02 standard deviation: timing needs no Gaussian, and Box–Muller for the
            // 1.2 G weights of a 1B-class model would take longer than the measurement.
            rng.FillUniform(tensor.AsSpan(), -0.02f * MathF.Sqrt(3), 0.02f * MathF.Sqrt(3));
            if (!frozenBf16) continue;
            // Tensor by tensor, before the method is installed, as `eft train` loads a checkpoint, and collected at
            // once, so the peak never holds a whole float32 model; what the method trains goes back to float32.
            tensor.HoldInBFloat16();
            freed += 2L * tensor.Size;
            GC.Collect();
        }
        // "full" trains every tensor, embeddings included, as the PyTorch peer's --mode full does.
        var peft = method == "full" ? PeftModel.CreateWhole(model) : PeftModel.Create(model, new PeftOptions
        {
            Method = method, Targets = TargetSpec.Parse(targets), Rank = rank, Alpha = 2 * rank,
            AdaLora = method == "adalora" ? new AdaLoraOptions { TotalStep = steps + warmup } : null,
        });
        var (packedBytes, packedWhy) = FrozenWeightPacking.Apply(model, packedWeights, batchSize * length, Threading.Count);
        var optimizer = new AdamW(ParameterGroups.Build(peft.Trainable, 1e-4));
        var ids = new int[batchSize * length];
        for (var i = 0; i < ids.Length; i++) ids[i] = 3 + rng.NextInt(config.VocabSize - 3);
        var batch = new ModelBatch(batchSize, length, ids, Enumerable.Repeat(1, ids.Length).ToArray());
        batch = config is RobertaConfig
            ? batch with { ClassLabels = Enumerable.Range(0, batchSize).Select(_ => rng.NextInt(config.NumLabels)).ToArray() }
            : batch with { TokenLabels = ids };

        var gemmPeak = new GemmPeak(Gemm.Default);
        var peak = gemmPeak.Measure(8);
        var counting = new CountingGemm(Gemm.Default);
        Gemm.Default = counting;
        // A mark after each step from the last warm-up one on, outside the step's time and the profile: the peak
        // again, so each timed step is bracketed by two peaks taken in the same phase of this shared machine, whose
        // speed moves by ±15% from one minute to the next, and the directly called products' running totals, so each
        // step has its own. With no warm-up the peak above makes the mark before step 1.
        var marks = warmup == 0 ? new List<StepMark> { new(peak, counting.Direct) } : [];
        var (pausedBefore, collectionsBefore, faultsBefore) = (GC.GetTotalPauseDuration(), GC.CollectionCount(0), OpProfile.PageFaults());
        // The same Trainer `eft train` runs, on one fixed batch, so every step does the same work.
        var result = new Trainer(peft, optimizer, new TrainerOptions
        {
            MaxSteps = warmup + steps, BatchSize = batchSize, Shuffle = false, Schedule = ScheduleKind.Constant,
            GradientCheckpointing = checkpointing,
        })
        {
            StepCompleted = (step, _, _) =>
            {
                if (step >= warmup)
                {
                    marks.Add(new StepMark(gemmPeak.Measure(3), counting.Direct));
                    OpProfile.SkipSinceLast();
                }
                if (step != warmup) return;
                (pausedBefore, collectionsBefore, faultsBefore) = (GC.GetTotalPauseDuration(), GC.CollectionCount(0), OpProfile.PageFaults());
                if (profile) OpProfile.Start();
            },
        }.Train(batch);
        var opTimes = profile ? OpProfile.Stop() : [];
        var gcMs = (GC.GetTotalPauseDuration() - pausedBefore).TotalMilliseconds / steps;
        var collections = (double)(GC.CollectionCount(0) - collectionsBefore) / steps;
        var faults = (OpProfile.PageFaults() - faultsBefore) / steps;
        Gemm.Default = counting.Inner;
        // Once more after the steps, keeping the higher: a peak taken while the machine stalled would put the step
        // above its own bound.
        peak = Math.Max(peak, gemmPeak.Measure(8));
        if (result.Status != TrainingStatus.Completed) throw new ArithmeticException($"perf train: the run ended {result.Status} at step {result.DivergedStep ?? result.Steps}.");
        var times = result.StepSeconds.Skip(warmup).Select(t => t * 1e3).ToList();
        var flopsPerStep = counting.Flops / (warmup + steps);
        // The higher of the two bracketing peaks, so a stall during one of them cannot raise the step's share.
        var phaseShares = times.Select((ms, i) => flopsPerStep / (Math.Max(marks[i].Peak, marks[i + 1].Peak) * 1e9) * 1e3 / ms).Order().ToList();
        var medianStep = Enumerable.Range(0, steps).OrderBy(i => times[i]).ElementAt(steps / 2);
        var directGflop = (marks[^1].Direct.Flops - marks[0].Direct.Flops) / 1e9 / steps;
        var directMs = (marks[medianStep + 1].Direct.Time - marks[medianStep].Direct.Time).TotalMilliseconds;
        times.Sort();
        var median = times[times.Count / 2];
        var tokens = batchSize * length;
        var boundMs = flopsPerStep / (peak * 1e9) * 1e3;
        var process = Process.GetCurrentProcess();
        var packing = packedBytes > 0
            ? string.Create(CultureInfo.InvariantCulture, $"frozen linear weights packed ({packedBytes / 1e9:F2} GB more; {packedWhy})")
            : $"frozen weights not packed ({packedWhy})";
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{arch} ({config.NumHiddenLayers} layers), {(method == "full" ? "full fine-tuning of every tensor" : $"{method} on {targets} r={rank}")}, batch {batchSize}×{length}, {Threading.Count} threads, GEMM {counting.Inner.Name}{(checkpointing ? ", gradient checkpointing" : "")}{(frozenBf16 ? $", frozen weights in bfloat16 ({freed / 1e9:F2} GB freed)" : "")}, {packing}"));
        Console.WriteLine($"trainable {peft.TrainableCount:N0} of the model ({peft.TrainableShare:P3})");
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"ms/step: median {median:F1}, min {times[0]:F1}, max {times[^1]:F1} ({steps} timed after {warmup} warm-up)"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"tokens/s: {tokens / (median / 1e3):F0}"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"peak memory: {process.PeakWorkingSet64 / 1e9:F2} GB resident (managed heap now {GC.GetTotalMemory(false) / 1e9:F2} GB)"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"per step: {collections:F1} garbage collections, {gcMs:F1} ms paused by them, {faults:N0} page faults (first touches of memory)"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"matrix products: {flopsPerStep / 1e9:F1} GFLOP per step; at the measured GEMM peak {peak:F0} GFLOP/s that is {boundMs:F0} ms, so the step runs at {boundMs / median:P0} of its bound"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"phase-matched: each step against the higher of the peaks measured just before and after it ({marks.Min(m => m.Peak):F0}–{marks.Max(m => m.Peak):F0} GFLOP/s): median {phaseShares[phaseShares.Count / 2]:P0} of its bound, {phaseShares[0]:P0}–{phaseShares[^1]:P0} over the steps"));
        // Splits the gap to the bound in two: products running below the peak, and time spent outside them.
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"products called outside the engine's parallel loops: {directGflop:F1} GFLOP per step, which took {directMs:F0} ms of the median step, {directGflop / directMs * 1e3:F0} GFLOP/s ({directGflop / directMs * 1e3 / peak:P0} of the peak); its other ops, with the products inside them, took {median - directMs:F0} ms"));
        if (boundMs > median)
            // Seen on a shared VM: both peak measurements caught a stall, and the share came out as 118%.
            Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"eft: note: the step beat its bound, so the GEMM peak measured here ({peak:F0} GFLOP/s) is too low; the machine was busy while it was measured. Rerun for a meaningful share."));
        if (profile) PrintProfile(opTimes, steps);
        return 0;
    }

    private static void PrintProfile(IReadOnlyList<OpTime> times, int steps)
    {
        var total = times.Sum(t => t.TotalMs);
        Console.WriteLine("where the time goes (ms and page faults per step; a forward op includes the module code since the previous op):");
        Console.WriteLine($"  {"op and output shape",-36} {"calls",6} {"forward",9} {"backward",9} {"share",7} {"faults",8}");
        foreach (var t in times.Take(25))
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  {t.Op,-36} {t.Calls / steps,6} {t.ForwardMs / steps,9:F1} {t.BackwardMs / steps,9:F1} {t.TotalMs / total,7:P1} {t.PageFaults / steps,8:N0}"));
    }

    /// <summary>The GEMM peak measured between two steps, and the directly called products' totals at that point.</summary>
    private readonly record struct StepMark(double Peak, (long Flops, TimeSpan Time) Direct);

    /// <summary>
    /// GFLOP/s of a GEMM at 2048×768×768 (X·Wᵀ) on the current thread count, best of a number of runs. The operands
    /// are made once, so a measurement between steps takes no page faults and leaves the collector nothing.
    /// </summary>
    private sealed class GemmPeak(IGemm gemm)
    {
        private const int M = 2048, K = 768, N = 768;
        private readonly float[] _a = Filled(M * K), _b = Filled(N * K), _c = new float[M * N];

        public double Measure(int runs)
        {
            var best = double.MaxValue;
            for (var i = 0; i < runs; i++)
            {
                var clock = Stopwatch.StartNew();
                gemm.Multiply(false, true, M, N, K, 1f, _a, K, _b, K, 0f, _c, N);
                best = Math.Min(best, clock.Elapsed.TotalSeconds);
            }
            return 2.0 * M * N * K / best / 1e9;
        }

        private static float[] Filled(int length)
        {
            var values = new float[length];
            new Rng(1).FillUniform(values, -1, 1);
            return values;
        }
    }

    /// <summary>
    /// Passes products through and adds up their FLOPs (2·m·n·k each), and the FLOPs and wall time of the products
    /// called outside the engine's parallel loops. Products inside one (attention's per-head ones at two threads) run
    /// on several threads at once, so their times would add up to more than the wall time they took; they count in
    /// <see cref="Flops"/> only. On one thread no loop runs in parallel and every product is timed.
    /// </summary>
    private sealed class CountingGemm(IGemm inner) : IGemm
    {
        private long _flops, _directFlops, _directTicks;

        public IGemm Inner { get; } = inner;

        public string Name => Inner.Name;

        public long Flops => Interlocked.Read(ref _flops);

        public (long Flops, TimeSpan Time) Direct => (_directFlops, Stopwatch.GetElapsedTime(0, _directTicks));

        public void Multiply(bool transposeA, bool transposeB, int m, int n, int k, float alpha, ReadOnlySpan<float> a, int lda,
            ReadOnlySpan<float> b, int ldb, float beta, Span<float> c, int ldc)
        {
            var start = Count(m, n, k);
            Inner.Multiply(transposeA, transposeB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
            Timed(start);
        }

        /// <summary>Adds the product's FLOPs; returns the time it starts, or 0 inside a parallel region.</summary>
        private long Count(int m, int n, int k)
        {
            var flops = 2L * m * n * k;
            Interlocked.Add(ref _flops, flops);
            if (Threading.InsideParallelRegion) return 0;
            _directFlops += flops;
            return Stopwatch.GetTimestamp();
        }

        private void Timed(long start)
        {
            if (start != 0) _directTicks += Stopwatch.GetTimestamp() - start;
        }

        // Passed on, not left to the interface's defaults, so the step timed runs the inner path's own fused bias,
        // bfloat16 and packed products, as `eft train` does.
        public void MultiplyWithBias(bool transposeA, bool transposeB, int m, int n, int k, float alpha, ReadOnlySpan<float> a, int lda,
            ReadOnlySpan<float> b, int ldb, ReadOnlySpan<float> bias, Span<float> c, int ldc)
        {
            var start = Count(m, n, k);
            Inner.MultiplyWithBias(transposeA, transposeB, m, n, k, alpha, a, lda, b, ldb, bias, c, ldc);
            Timed(start);
        }

        public void MultiplyBFloat16(bool transposeA, bool transposeB, int m, int n, int k, float alpha, ReadOnlySpan<float> a, int lda,
            ReadOnlySpan<ushort> b, int ldb, float beta, ReadOnlySpan<float> bias, Span<float> c, int ldc)
        {
            var start = Count(m, n, k);
            Inner.MultiplyBFloat16(transposeA, transposeB, m, n, k, alpha, a, lda, b, ldb, beta, bias, c, ldc);
            Timed(start);
        }

        public PackedWeight? Pack(ReadOnlySpan<float> w, int rows, int cols) => Inner.Pack(w, rows, cols);

        public void MultiplyPacked(bool transposed, int m, float alpha, ReadOnlySpan<float> a, int lda, PackedWeight w,
            float beta, ReadOnlySpan<float> bias, Span<float> c, int ldc)
        {
            var start = Count(m, transposed ? w.Rows : w.Cols, transposed ? w.Cols : w.Rows);
            Inner.MultiplyPacked(transposed, m, alpha, a, lda, w, beta, bias, c, ldc);
            Timed(start);
        }
    }
}
