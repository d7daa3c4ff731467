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

    public bool ShowsLearningRate => Rows.GroupBy(r => r.Key with { LearningRate = 0, Rest = "" }).Any(g => g.Select(r => r.Key.LearningRate).Distinct().Count() > 1);

    /// <summary>The settings beyond the key's own fields that some configuration and task ran with more than one value of.</summary>
    public required IReadOnlyList<string> Varying { get; init; }

    public string Label(ConfigKey key) => (ShowsModel ? key.Model + " " : "") + key.Label(ShowsLearningRate);

    /// <summary>The row a run belongs to: its <see cref="ConfigKey"/>, with the values of the <see cref="Varying"/> settings.</summary>
    public ConfigKey KeyOf(RunSettings settings) => KeyOf(settings, Varying);

    private static ConfigKey KeyOf(RunSettings settings, IReadOnlyList<string> varying) => ConfigKey.Of(settings) with
    {
        Rest = string.Join(" ", ConfigKey.OtherSettings(settings).Where(p => varying.Contains(p.Name)).Select(p => $"{p.Name}={p.Value}")),
    };

    public static ResultsTable Build(IReadOnlyList<RunRecord> runs)
    {
        var tasks = runs.Select(r => r.Settings.Task).Distinct()
            .OrderBy(t => Array.IndexOf(TaskOrder, t) is var i && i >= 0 ? i : TaskOrder.Length).ThenBy(t => t, StringComparer.Ordinal)
            .ToList();
        // A setting that differs between runs of one configuration on one task would be pooled as if only the seed
        // differed: it joins the key. One that differs only between tasks (a per-task max_length) does not split rows.
        var varying = runs.GroupBy(r => (ConfigKey.Of(r.Settings), r.Settings.Task))
            .SelectMany(g => g.SelectMany(r => ConfigKey.OtherSettings(r.Settings)).GroupBy(p => p.Name).Where(n => n.Select(p => p.Value).Distinct().Count() > 1))
            .Select(n => n.Key).Distinct().ToList();
        var rows = runs.GroupBy(r => KeyOf(r.Settings, varying))
            .Select(g => new ResultsRow(g.Key, tasks.ToDictionary(t => t, t => ScoreCell.Of(g.Where(r => r.Settings.Task == t).ToList())), g.ToList()))
            .ToList();
        rows.Sort((a, b) => ConfigKey.Compare(a.Key, b.Key));
        var metrics = tasks.ToDictionary(t => t, t => runs.Where(r => r.Settings.Task == t).Select(r => r.HeadlineMetric).FirstOrDefault(m => m != null) ?? "score");
        var seeds = rows.SelectMany(r => r.Cells.Values).Select(c => c.Completed).DefaultIfEmpty(0).Max();
        return new ResultsTable { Tasks = tasks, Rows = rows, Metrics = metrics, Seeds = seeds, Varying = varying };
    }

    /// <summary>The row with the highest mean on <paramref name="task"/> (null when no row has a score there).</summary>
    public ResultsRow? Best(string task) =>
        Rows.Where(r => r.Cells[task].HasScore).MaxBy(r => r.Cells[task].Mean);

    /// <summary>The row with the highest average over all tasks (rows missing a task have no average).</summary>
    public ResultsRow? BestAverage() => Rows.Where(r => r.Average is not null).MaxBy(r => r.Average!.Value);
}
