namespace EfficientFT.Bench.Reporting;

/// <summary>
/// The cost of one method × targets × rank, pooled over tasks, λ and seeds (λ changes no work per step): means of the
/// completed runs' step time, throughput and wall time, and the largest peak memory. Runs with gradient
/// checkpointing trade time for memory, so they get a row of their own.
/// </summary>
internal sealed record CostRow(string Label, int Runs, double SecondsPerStep, double TokensPerSecond, long PeakMemoryBytes, double WallSeconds, long TrainableParameters)
{
    public static IReadOnlyList<CostRow> Of(ResultsTable table) => table.Rows
        .SelectMany(r => r.Runs.Where(run => run.Status == RunStatus.Completed && run.SecondsPerStep > 0).Select(run => (Row: r, Run: run)))
        .GroupBy(x => (Key: x.Row.Key with { Lambda = 1, LearningRate = 0 }, x.Run.GradientCheckpointing))
        .Select(g =>
        {
            var runs = g.Select(x => x.Run).ToList();
            var k = g.Key.Key;
            var label = (table.ShowsModel ? k.Model + " " : "") + $"{ConfigKey.MethodName(k.Method)} {k.Targets}" + (k.UsesRank ? $" r={k.Rank}" : "") +
                        (k.Rest.Length > 0 ? " " + k.Rest : "") + (g.Key.GradientCheckpointing ? " (gradient checkpointing)" : "");
            return new CostRow(label, runs.Count, runs.Average(r => r.SecondsPerStep), runs.Average(r => r.TokensPerSecond),
                runs.Max(r => r.PeakMemoryBytes), runs.Average(r => r.WallSeconds), g.First().Row.TrainableParameters);
        })
        .ToList();
}
