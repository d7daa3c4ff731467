namespace EfficientFT.Bench.Reporting;

/// <summary>
/// The Table-2-shaped summary of a set of runs: one row per <see cref="ConfigKey"/>, one column per task, each cell
/// the seeds pooled. Rows and tasks are in display order.
/// </summary>
public sealed class ResultsTable
{
    /// <summary>The GLUE tasks in the order of the paper's Table 2; other tasks follow alphabetically.</summary>
    private static readonly string[] TaskOrder = ["rte", "stsb", "mrpc", "cola", "mnli", "sst2", "qqp", "qnli"];

    public required IReadOnlyList<string> Tasks { get; init; }

    public required IReadOnlyList<ResultsRow> Rows { get; init; }

    /// <summary>The headline metric of each task (accuracy, mcc, pearson, …) as the runs name it.</summary>
    public required IReadOnlyDictionary<string, string> Metrics { get; init; }

    /// <summary>The most seeds any cell has: a cell with fewer completed seeds says its n.</summary>
    public required int Seeds { get; init; }

    /// <summary>Whether rows differ by model or learning rate, so labels must show them.</summary>
    public bool ShowsModel => Rows.Select(r => r.Key.Model).Distinct().Count() > 1;

    public bool ShowsLearningRate => Rows.GroupBy(r => r.Key with { LearningRate = 0 }).Any(g => g.Count() > 1);

    public string Label(ConfigKey key) => (ShowsModel ? key.Model + " " : "") + key.Label(ShowsLearningRate);

    public static ResultsTable Build(IReadOnlyList<RunRecord> runs)
    {
        var tasks = runs.Select(r => r.Settings.Task).Distinct()
            .OrderBy(t => Array.IndexOf(TaskOrder, t) is var i && i >= 0 ? i : TaskOrder.Length).ThenBy(t => t, StringComparer.Ordinal)
            .ToList();
        var rows = runs.GroupBy(r => ConfigKey.Of(r.Settings))
            .Select(g => new ResultsRow(g.Key, tasks.ToDictionary(t => t, t => ScoreCell.Of(g.Where(r => r.Settings.Task == t).ToList())), g.ToList()))
            .ToList();
        rows.Sort((a, b) => ConfigKey.Compare(a.Key, b.Key));
        var metrics = tasks.ToDictionary(t => t, t => runs.Where(r => r.Settings.Task == t).Select(r => r.HeadlineMetric).FirstOrDefault(m => m != null) ?? "score");
        var seeds = rows.SelectMany(r => r.Cells.Values).Select(c => c.Completed).DefaultIfEmpty(0).Max();
        return new ResultsTable { Tasks = tasks, Rows = rows, Metrics = metrics, Seeds = seeds };
    }

    /// <summary>The row with the highest mean on <paramref name="task"/> (null when no row has a score there).</summary>
    public ResultsRow? Best(string task) =>
        Rows.Where(r => r.Cells[task].HasScore).MaxBy(r => r.Cells[task].Mean);

    /// <summary>The row with the highest average over all tasks (rows missing a task have no average).</summary>
    public ResultsRow? BestAverage() => Rows.Where(r => r.Average is not null).MaxBy(r => r.Average!.Value);
}
