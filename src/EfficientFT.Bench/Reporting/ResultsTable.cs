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

    /// <summary>
    /// Per configuration (its key without <see cref="ConfigKey.Rest"/>), the settings beyond the key's own fields that
    /// its rows show, with the method options its method's runs set (see <see cref="Variations"/>).
    /// </summary>
    public required IReadOnlyDictionary<ConfigKey, Variation> Varying { get; init; }

    /// <summary>Whether some row carries settings of its own, so the table needs a column for them.</summary>
    public bool ShowsSettings => Rows.Any(r => r.Key.Rest.Length > 0);

    public string Label(ConfigKey key) => (ShowsModel ? key.Model + " " : "") + key.Label(ShowsLearningRate);

    /// <summary>The row a run belongs to: its <see cref="ConfigKey"/>, with the values of its configuration's varying settings.</summary>
    public ConfigKey KeyOf(RunSettings settings) => KeyOf(settings, Varying);

    /// <summary>What varies within one configuration: setting names, and the method options whose absence means "default".</summary>
    public sealed record Variation(IReadOnlySet<string> Names, IReadOnlyList<string> Options);

    private static ConfigKey KeyOf(RunSettings settings, IReadOnlyDictionary<ConfigKey, Variation> varying)
    {
        var key = ConfigKey.Of(settings);
        return varying.TryGetValue(key, out var v) && v.Names.Count > 0
            ? key with { Rest = string.Join(" ", ConfigKey.OtherSettings(settings, v.Options).Where(p => v.Names.Contains(p.Name)).Select(p => $"{p.Name}={p.Value}")) }
            : key;
    }

    /// <summary>
    /// A setting that differs between runs of one configuration on one task would be pooled as if only the seed
    /// differed, so it splits rows: every configuration's rows then show it, so that a sweep over alpha at λ = 1 still
    /// pairs its alpha=16 row with the λ = 2 row that ran alpha 16. A configuration whose value of it differs only
    /// between tasks (a per-task max_length) does not split by it, as its tasks' cells would fall into separate rows.
    /// </summary>
    private static Dictionary<ConfigKey, Variation> Variations(IReadOnlyList<RunRecord> runs)
    {
        // The spec leaves an option at its default out of the settings, so a sweep that includes the default has runs
        // without it: those count as "default", not as not varying.
        var options = runs.GroupBy(r => r.Settings.Method).ToDictionary(m => m.Key,
            m => (IReadOnlyList<string>)m.SelectMany(r => r.Settings.MethodOptions.Keys).Distinct().Order(StringComparer.Ordinal).ToList());
        IEnumerable<string> VaryingIn(IEnumerable<RunRecord> group) =>
            group.SelectMany(r => ConfigKey.OtherSettings(r.Settings, options[r.Settings.Method])).GroupBy(p => p.Name)
                .Where(n => n.Select(p => p.Value).Distinct().Count() > 1).Select(n => n.Key);
        var configs = runs.GroupBy(r => ConfigKey.Of(r.Settings)).ToList();
        var splitting = configs.SelectMany(c => c.GroupBy(r => r.Settings.Task).SelectMany(VaryingIn)).ToHashSet(StringComparer.Ordinal);
        return configs.ToDictionary(c => c.Key, c =>
        {
            var withinTasks = c.GroupBy(r => r.Settings.Task).SelectMany(VaryingIn).ToHashSet(StringComparer.Ordinal);
            var perTask = VaryingIn(c).Where(n => !withinTasks.Contains(n));
            // A method without an adapter has no use for its alpha or dropout, whatever another method swept.
            var meaningless = c.Key.UsesRank ? [] : (string[])["alpha", "adapter_dropout"];
            return new Variation(splitting.Except(perTask).Except(meaningless).ToHashSet(StringComparer.Ordinal), options[c.Key.Method]);
        });
    }

    public static ResultsTable Build(IReadOnlyList<RunRecord> runs)
    {
        var tasks = runs.Select(r => r.Settings.Task).Distinct()
            .OrderBy(t => Array.IndexOf(TaskOrder, t) is var i && i >= 0 ? i : TaskOrder.Length).ThenBy(t => t, StringComparer.Ordinal)
            .ToList();
        var varying = Variations(runs);
        var rows = runs.GroupBy(r => KeyOf(r.Settings, varying))
            .Select(g => new ResultsRow(g.Key, tasks.ToDictionary(t => t, t => ScoreCell.Of(g.Where(r => r.Settings.Task == t).ToList())), g.ToList()))
            .ToList();
        rows.Sort((a, b) => ConfigKey.Compare(a.Key, b.Key));
        var metrics = tasks.ToDictionary(t => t, t => MetricLabel(runs.Where(r => r.Settings.Task == t).ToList()));
        var seeds = rows.SelectMany(r => r.Cells.Values).Select(c => c.Completed).DefaultIfEmpty(0).Max();
        var mixed = tasks.Where(t => runs.Where(r => r.Settings.Task == t).Select(r => r.HeadlineMetric).OfType<string>().Distinct().Count() > 1).ToHashSet();
        return new ResultsTable { Tasks = tasks, Rows = rows, Metrics = metrics, Seeds = seeds, Varying = varying, MixedMetricTasks = mixed };
    }

    /// <summary>
    /// The task's headline metric as its runs name it; for a task scored on several evaluation splits (MNLI's matched
    /// and mismatched), which splits the headline averages, since the name alone reads as one split's value.
    /// </summary>
    private static string MetricLabel(IReadOnlyList<RunRecord> runs)
    {
        // A custom task's id comes from its path, so runs made before its task.json changed its headline are pooled
        // with the new ones; the column then says it mixes metrics rather than naming one of them.
        var named = runs.Select(r => r.HeadlineMetric).OfType<string>().Distinct().Order(StringComparer.Ordinal).ToList();
        if (named.Count > 1) return $"{string.Join(" or ", named)}: runs disagree on the headline metric";
        var metric = named.FirstOrDefault() ?? "score";
        var splits = runs.SelectMany(r => r.Scores.Keys).Where(k => k.StartsWith(metric + "_", StringComparison.Ordinal))
            .Select(k => k[(metric.Length + 1)..]).Distinct().Order(StringComparer.Ordinal).ToList();
        return splits.Count > 1 ? $"{metric}, mean of {string.Join(" and ", splits)}" : metric;
    }

    /// <summary>
    /// Whether the row's mean on <paramref name="task"/> is the highest as the table prints it among the rows of its
    /// model whose every run there completed with a score: rows that tie are all best, whichever comes first and
    /// whatever rounding lies below the printed digits. A cell that lost a seed is not crowned on the seeds left, and
    /// one model's rows are not ranked against another's.
    /// </summary>
    public bool IsBest(ResultsRow row, string task) =>
        IsRankable(row, task) && Format.Score(row.Cells[task].Mean)
            == Format.Score(Rows.Where(r => r.Key.Model == row.Key.Model && IsRankable(r, task)).Max(r => r.Cells[task].Mean));

    /// <summary>As <see cref="IsBest"/> for the average over all tasks (rows missing a task have no average).</summary>
    public bool IsBestAverage(ResultsRow row) =>
        IsRankableAverage(row) && Format.Score(row.Average!.Value)
            == Format.Score(Rows.Where(r => r.Key.Model == row.Key.Model && IsRankableAverage(r)).Max(r => r.Average!.Value));

    /// <summary>
    /// Whether the row's cell on <paramref name="task"/> may be called best: every seed of the table completed there
    /// with a score, and the task's runs agree on their headline metric. A mean over the seeds left when others
    /// diverged, failed or are not made yet (a shard not merged) is not comparable with a whole one.
    /// </summary>
    public bool IsRankable(ResultsRow row, string task) =>
        row.Cells[task] is var cell && cell.HasScore && cell.Completed == cell.Runs && cell.Completed >= Seeds && !MixedMetricTasks.Contains(task);

    /// <summary>Whether the row's average may be called best: every one of its cells is rankable.</summary>
    public bool IsRankableAverage(ResultsRow row) => row.Average != null && Tasks.All(t => IsRankable(row, t));

    /// <summary>Tasks whose runs name different headline metrics (a custom task.json edited between runs).</summary>
    public IReadOnlySet<string> MixedMetricTasks { get; private init; } = new HashSet<string>();

    /// <summary>The average column's heading: how many tasks it averages, so a subset is not read as the paper's eight.</summary>
    public string AverageHeading => Tasks.Count == 1 ? "Avg (1 task)" : $"Avg ({Tasks.Count} tasks)";
}
