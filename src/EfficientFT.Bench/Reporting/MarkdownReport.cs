using System.Text;

namespace EfficientFT.Bench.Reporting;

/// <summary>report.md: the header, the results table, the computed findings, the cost table and the lost runs.</summary>
internal static class MarkdownReport
{
    public static string Render(IReadOnlyList<RunRecord> runs, ResultsTable table)
    {
        var o = RunOverview.Of(runs, table);
        var sb = new StringBuilder();
        sb.AppendLine("# EfficientFT benchmark report").AppendLine();
        sb.AppendLine($"- **Runs:** {o.Outcomes}");
        sb.AppendLine($"- **Models:** {string.Join(", ", o.Models.Select(Md))}");
        sb.AppendLine($"- **Tasks:** {string.Join(", ", table.Tasks.Select(t => $"{Md(t)} ({Md(table.Metrics[t])})"))}");
        sb.AppendLine($"- **Seeds:** {string.Join(", ", o.Seeds)}");
        sb.AppendLine($"- **Code:** {string.Join(", ", o.CodeVersions.Select(Md))}");
        sb.AppendLine($"- **Machine:** {string.Join("; ", o.Machines.Select(Md))}");
        sb.AppendLine($"- **Finished:** {o.Finished}").AppendLine();

        sb.AppendLine("## Results").AppendLine();
        sb.AppendLine($"Headline metric ×100 on each task's evaluation split, mean ± sample std over {table.Seeds} seed{(table.Seeds == 1 ? "" : "s")} " +
                      "(n given where fewer completed); the best mean per column and model in bold, among cells where every seed completed with a score. Trainable parameters include the classification head.").AppendLine();
        var header = new List<string> { "Method", "Targets", "Rank", "λ" };
        if (table.ShowsModel) header.Insert(0, "Model");
        if (table.ShowsLearningRate) header.Add("lr");
        if (table.ShowsSettings) header.Add("Settings");
        header.Add("Trainable (share)");
        header.AddRange(table.Tasks.Select(t => $"{Md(t)} ({Md(table.Metrics[t])})"));
        header.Add(table.AverageHeading);
        sb.AppendLine(Row(header));
        sb.AppendLine(Row(header.Select((_, i) => i < header.Count - table.Tasks.Count - 1 ? "---" : "---:")));
        foreach (var row in table.Rows)
        {
            var k = row.Key;
            var cells = new List<string> { Md(ConfigKey.MethodName(k.Method)), Md(k.Targets), k.UsesRank ? k.Rank.ToString() : "—", Format.Number(k.Lambda) };
            if (table.ShowsModel) cells.Insert(0, Md(k.Model));
            if (table.ShowsLearningRate) cells.Add(Format.Number(k.LearningRate));
            if (table.ShowsSettings) cells.Add(k.Rest.Length > 0 ? Md(k.Rest) : "—");
            cells.Add(row.TrainableParameters > 0 ? $"{Format.Count(row.TrainableParameters)} ({Format.Share(row.TrainableShare)})" : "—");
            foreach (var t in table.Tasks)
            {
                var cell = row.Cells[t];
                var value = table.IsBest(row, t) ? $"**{cell.Value}**" : cell.Value;
                var parts = cell.Notes(table.Seeds).Prepend(value).OfType<string>().ToList();
                cells.Add(parts.Count == 0 ? "—" : string.Join(" · ", parts));
            }
            var avg = row.Average is double a ? Format.Score(a) : "—";
            cells.Add(table.IsBestAverage(row) ? $"**{avg}**" : avg);
            sb.AppendLine(Row(cells));
        }
        sb.AppendLine();

        sb.AppendLine("## What it says").AppendLine();
        var targets = Findings.TargetsComparison(table);
        var lambdas = Findings.LambdaComparison(table);
        if (targets.Count > 0)
        {
            sb.AppendLine("### q,v against q,k,v (same method, rank and λ)").AppendLine();
            foreach (var s in targets) sb.AppendLine($"- {Md(s)}");
            sb.AppendLine();
        }
        if (lambdas.Count > 0)
        {
            sb.AppendLine("### The value learning-rate ratio λ").AppendLine();
            foreach (var s in lambdas) sb.AppendLine($"- {Md(s)}");
            sb.AppendLine();
        }
        if (targets.Count == 0 && lambdas.Count == 0)
            sb.AppendLine("No pair of q,v and q,k,v runs and no λ sweep to compare.").AppendLine();

        var costs = CostRow.Of(table);
        if (costs.Count > 0)
        {
            sb.AppendLine("## Cost").AppendLine();
            sb.AppendLine("Means over the completed runs of every task, λ and seed; peak memory is the largest.").AppendLine();
            sb.AppendLine(Row(["Configuration", "Trainable", "Runs", "s/step", "tokens/s", "Peak memory", "Wall time per run"]));
            sb.AppendLine(Row(["---", "---:", "---:", "---:", "---:", "---:", "---:"]));
            foreach (var c in costs)
                sb.AppendLine(Row([Md(c.Label), Format.Count(c.TrainableParameters), c.Runs.ToString(), Format.Fixed(c.SecondsPerStep, 3),
                    Format.Fixed(c.TokensPerSecond, 0), Format.Bytes(c.PeakMemoryBytes), Format.Seconds(c.WallSeconds)]));
            sb.AppendLine();
        }

        var lost = runs.Where(r => r.Status != RunStatus.Completed).ToList();
        sb.AppendLine("## Diverged and failed runs").AppendLine();
        if (lost.Count == 0) sb.AppendLine("None.");
        else
        {
            sb.AppendLine(Row(["Run", "Task", "Configuration", "Seed", "Status", "Error"]));
            sb.AppendLine(Row(["---", "---", "---", "---:", "---", "---"]));
            foreach (var r in lost)
                sb.AppendLine(Row([$"`{r.Id}`", Md(r.Settings.Task), Md(table.Label(table.KeyOf(r.Settings))), r.Settings.Seed.ToString(), r.Status,
                    r.Error == null ? "—" : Code(ErrorLine(r.Error))]));
        }
        sb.AppendLine().AppendLine("Plots (score against trainable parameters, λ sweeps, loss curves) are in report.html.");
        return sb.ToString();
    }

    /// <summary>The first line of an error, shortened for a table cell.</summary>
    internal static string ErrorLine(string? error)
    {
        if (string.IsNullOrWhiteSpace(error)) return "—";
        var line = error.Split('\n')[0].Trim();
        return line.Length > 240 ? line[..240] + "…" : line;
    }

    /// <summary>A name as Markdown shows it literally: `*`, `_`, `<` and the like would start emphasis, a tag or a link.</summary>
    private static string Md(string text)
    {
        var sb = new StringBuilder(text.Length);
        foreach (var c in text)
        {
            if (c is '\\' or '*' or '_' or '`' or '[' or ']' or '<' or '>' or '#') sb.Append('\\');
            sb.Append(c);
        }
        return sb.ToString();
    }

    /// <summary>Text as a code span, which Markdown leaves alone (an error's List&lt;Tensor&gt; would be read as a tag).</summary>
    private static string Code(string text) => text.Contains('`') ? $"`` {text} ``" : $"`{text}`";

    private static string Row(IEnumerable<string> cells) => "| " + string.Join(" | ", cells.Select(c => c.Replace("|", "\\|").Replace("\n", " "))) + " |";
}
