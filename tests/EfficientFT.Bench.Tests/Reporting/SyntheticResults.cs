using EfficientFT.Training;

namespace EfficientFT.Bench.Tests.Reporting;

/// <summary>
/// A plausible results grid shaped like the paper's Table 2 sweep: rte, mrpc and cola × full_ft, lora and dora ×
/// q,v and q,k,v × λ ∈ {1, 2, 4, 8} × 3 seeds, with loss curves, timings, one diverged and one failed run. The
/// numbers are invented (a λ optimum near 4 for the adapters, full fine-tuning hurt by large λ); fixed seed.
/// </summary>
internal static class SyntheticResults
{
    public static readonly string[] Methods = ["full_ft", "lora", "dora"];
    public static readonly string[] Targets = ["q,v", "q,k,v"];
    public static readonly double[] Lambdas = [1, 2, 4, 8];
    public static readonly (string Task, string Metric, double Base)[] Tasks = [("rte", "accuracy", 0.71), ("mrpc", "accuracy", 0.86), ("cola", "mcc", 0.58)];

    public static RunSettings Settings(string task, string method, string targets, double lambda, ulong seed) => new()
    {
        Model = "FacebookAI/roberta-base", Task = task, Method = method, Targets = targets, Rank = 8, Alpha = 8, Lambda = lambda,
        LearningRate = 1e-4, Seed = seed, Epochs = 10, BatchSize = 32, MaxLength = 128, Schedule = "linear", WarmupRatio = 0.06,
        WeightDecay = 0,
    };

    public static List<RunRecord> Grid()
    {
        var random = new Random(1234);
        var runs = new List<RunRecord>();
        foreach (var (task, metric, baseScore) in Tasks)
        foreach (var method in Methods)
        foreach (var targets in Targets)
        foreach (var lambda in Lambdas)
        for (ulong seed = 0; seed < 3; seed++)
        {
            var s = Settings(task, method, targets, lambda, seed);
            var l = Math.Log2(lambda);
            var effect = method == "full_ft" ? 0.012 - 0.008 * l * l : 0.011 * l - 0.0028 * l * l + (method == "dora" ? 0.003 : 0);
            var score = baseScore + effect + (targets == "q,v" ? 0.004 : 0) + 0.008 * Gaussian(random);
            var trainable = (method, targets) switch
            {
                ("full_ft", "q,v") => 14_760_000L, ("full_ft", _) => 21_850_000L,
                ("lora", "q,v") => 1_480_000L, ("lora", _) => 1_620_000L,
                ("dora", "q,v") => 900_000L, _ => 1_060_000L,
            };
            var diverged = method == "full_ft" && lambda == 8 && task == "cola" && seed == 2;
            var failed = method == "lora" && targets == "q,k,v" && lambda == 4 && task == "rte" && seed == 1;
            var steps = 240;
            var losses = new float[steps];
            for (var t = 0; t < steps; t++)
            {
                var tau = 60 / Math.Sqrt(lambda) * (method == "full_ft" ? 0.6 : 1);
                losses[t] = (float)(0.18 + 0.5 * Math.Exp(-t / tau) + 0.05 * Math.Abs(Gaussian(random)));
                if (diverged && t > 150) losses[t] = t > 170 ? float.NaN : losses[t - 1] * 1.3f;
            }
            var secondsPerStep = method == "full_ft" ? 0.92 : method == "dora" ? 0.71 : 0.58;
            runs.Add(new RunRecord
            {
                Id = s.Id, Settings = s,
                Status = failed ? RunStatus.Failed : diverged ? RunStatus.Diverged : RunStatus.Completed,
                Error = failed ? "out of memory allocating 1.5 GiB for the attention scores" : diverged ? "loss is NaN at step 171" : null,
                Scores = failed || diverged ? new Dictionary<string, double>() : new Dictionary<string, double> { [metric] = score },
                HeadlineMetric = metric, Headline = failed || diverged ? null : score,
                TrainableParameters = trainable, TotalParameters = 124_650_000, TrainableShare = trainable / 124_650_000.0,
                PeakMemoryBytes = (long)((method == "full_ft" ? 3.1 : 2.2) * (1L << 30)),
                Steps = failed ? 0 : steps, SecondsPerStep = failed ? 0 : secondsPerStep * (1 + 0.03 * Gaussian(random)),
                TokensPerSecond = failed ? 0 : 32 * 128 / secondsPerStep, WallSeconds = failed ? 3 : steps * secondsPerStep + 40,
                Losses = failed ? [] : diverged ? losses[..171] : losses,
                Evaluations = failed || diverged ? [] : [new EvaluationRecord(steps, new Dictionary<string, double> { [metric] = score })],
                CodeVersion = "07a669f", Machine = "2 cores, Linux x64",
                FinishedAt = new DateTimeOffset(2025, 6, 1, 12, 0, 0, TimeSpan.Zero).AddMinutes(runs.Count),
            });
        }
        return runs;
    }

    /// <summary>Writes every run of <paramref name="runs"/> to dir/runs/ID.json.</summary>
    public static void WriteTo(string dir, IEnumerable<RunRecord> runs)
    {
        foreach (var run in runs) RunRecordJson.Write(Path.Combine(dir, "runs", run.Id + ".json"), run);
    }

    private static double Gaussian(Random random) =>
        Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
}
