namespace EfficientFT.Bench.Reporting;

/// <summary>One configuration with its cell per task and the runs behind them.</summary>
public sealed record ResultsRow(ConfigKey Key, IReadOnlyDictionary<string, ScoreCell> Cells, IReadOnlyList<RunRecord> Runs)
{
    /// <summary>
    /// The trainable count of the row's runs. The classification head makes it differ slightly by task (STS-B
    /// regresses one value), so the most common count is shown, as the paper shows one count per row.
    /// </summary>
    public long TrainableParameters => Runs.Where(r => r.TrainableParameters > 0).GroupBy(r => r.TrainableParameters)
        .OrderByDescending(g => g.Count()).ThenBy(g => g.Key).Select(g => g.Key).FirstOrDefault();

    public double TrainableShare => Runs.Where(r => r.TrainableParameters == TrainableParameters).Select(r => r.TrainableShare).FirstOrDefault();

    /// <summary>Mean over tasks of the per-task means; null unless every task has a score.</summary>
    public double? Average => Cells.Count > 0 && Cells.Values.All(c => c.HasScore) ? Cells.Values.Average(c => c.Mean) : null;
}
