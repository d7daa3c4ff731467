namespace EfficientFT.Bench.Reporting;

/// <summary>
/// The cost of one method × targets × rank, pooled over tasks, λ and seeds (λ changes no work per step): means of the
/// completed runs' step time, throughput and wall time, and the largest peak memory.
/// </summary>
internal sealed record CostRow(string Label, int Runs, double SecondsPerStep, double TokensPerSecond, long PeakMemoryBytes, double WallSeconds, long TrainableParameters)
{
    public static IReadOnlyList<CostRow> Of(ResultsTable table) => table.Rows
        .GroupBy(r => r.Key with { Lambda = 1, LearningRate = 0 })
        .Select(g =>
        {
            var runs = g.SelectMany(r => r.Runs).Where(r => r.Status == RunStatus.Completed && r.SecondsPerStep > 0).ToList();
            var k = g.Key;
            var label = (table.ShowsModel ? k.Model + " " : "") + $"{ConfigKey.MethodName(k.Method)} {k.Targets}" + (k.UsesRank ? $" r={k.Rank}" : "") +
                        (k.Rest.Length > 0 ? " " + k.Rest : "");
            return runs.Count == 0
                ? null
                : new CostRow(label, runs.Count, runs.Average(r => r.SecondsPerStep), runs.Average(r => r.TokensPerSecond),
                    runs.Max(r => r.PeakMemoryBytes), runs.Average(r => r.WallSeconds), g.First().TrainableParameters);
        })
        .OfType<CostRow>()
        .ToList();
}
