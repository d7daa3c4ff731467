using System.Net;
using System.Text;
using System.Xml.Linq;

namespace EfficientFT.Bench.Reporting;

/// <summary>
/// report.html: the Markdown report's content plus the figures, as one file that opens anywhere — inline CSS, inline
/// SVG, no scripts and no external references, so it can be mailed or attached as it is.
/// </summary>
internal static class HtmlReport
{
    private const string Css = """
        :root { --ink: #1f2328; --muted: #59636e; --line: #d8dee4; --head: #eef2f6; --zebra: #f6f8fa; --accent: #0072B2; --warn: #b35900; }
        * { box-sizing: border-box; }
        body { margin: 0; background: #f3f4f6; color: var(--ink); font: 15px/1.55 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", sans-serif; }
        main { max-width: 1320px; margin: 0 auto; padding: 28px clamp(14px, 3vw, 40px) 64px; background: #fff; min-height: 100vh; }
        h1 { font-size: 28px; margin: 0 0 4px; letter-spacing: -0.01em; }
        h2 { font-size: 21px; margin: 40px 0 10px; padding-bottom: 6px; border-bottom: 1px solid var(--line); }
        h3 { font-size: 16px; margin: 22px 0 6px; }
        p, li { max-width: 78em; }
        .sub { color: var(--muted); margin: 0 0 18px; }
        .cards { display: flex; flex-wrap: wrap; gap: 10px; margin: 14px 0; }
        .card { border: 1px solid var(--line); border-radius: 8px; padding: 8px 14px; min-width: 120px; }
        .card b { display: block; font-size: 22px; font-variant-numeric: tabular-nums; }
        .card span { color: var(--muted); font-size: 13px; }
        .card.warn b { color: var(--warn); }
        dl.meta { display: grid; grid-template-columns: max-content 1fr; gap: 3px 16px; margin: 10px 0; font-size: 14px; }
        dl.meta dt { color: var(--muted); }
        dl.meta dd { margin: 0; overflow-wrap: anywhere; }
        .wrap { overflow-x: auto; border: 1px solid var(--line); border-radius: 6px; }
        table { border-collapse: collapse; width: 100%; font-size: 13.5px; font-variant-numeric: tabular-nums; }
        th, td { padding: 6px 10px; border-bottom: 1px solid var(--line); vertical-align: top; }
        th { background: var(--head); text-align: left; font-weight: 600; white-space: nowrap; position: sticky; top: 0; }
        th small { display: block; font-weight: 400; color: var(--muted); }
        tbody tr:nth-child(even) { background: var(--zebra); }
        tbody tr:hover { background: #e8f1fa; }
        tr.group td { border-top: 2px solid #aab4be; }
        td.num, th.num { text-align: right; white-space: nowrap; }
        td .best { font-weight: 700; color: #000; }
        td .note { display: block; font-size: 11.5px; color: var(--warn); }
        td .share { color: var(--muted); font-size: 12px; }
        code { font: 12px ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
        ul.findings li { margin: 4px 0; }
        .figs { display: grid; grid-template-columns: repeat(auto-fill, minmax(min(100%, 460px), 1fr)); gap: 14px; }
        figure { margin: 0; padding: 6px; border: 1px solid var(--line); border-radius: 6px; background: #fff; }
        figure svg { display: block; width: 100%; height: auto; }
        .legend-note { color: var(--muted); font-size: 13.5px; }
        footer { margin-top: 48px; color: var(--muted); font-size: 12.5px; }
        """;

    public static string Render(IReadOnlyList<RunRecord> runs, ResultsTable table)
    {
        var o = RunOverview.Of(runs, table);
        var sb = new StringBuilder();
        sb.Append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
          .Append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n")
          .Append($"<title>EfficientFT report — {E(string.Join(", ", o.Models))}</title>\n<style>\n{Css}\n</style>\n</head>\n<body>\n<main>\n");
        sb.Append("<h1>EfficientFT benchmark report</h1>\n");
        sb.Append($"<p class=\"sub\">{E(string.Join(", ", o.Models))} · {E(string.Join(", ", table.Tasks))} · seeds {E(string.Join(", ", o.Seeds))}</p>\n");
        sb.Append("<div class=\"cards\">")
          .Append(Card(o.Runs.ToString(), "runs")).Append(Card(o.Completed.ToString(), "completed"))
          .Append(Card(o.Diverged.ToString(), "diverged", o.Diverged > 0)).Append(Card(o.Failed.ToString(), "failed", o.Failed > 0))
          .Append(Card(table.Rows.Count.ToString(), "configurations")).Append("</div>\n");
        sb.Append("<dl class=\"meta\">")
          .Append($"<dt>Models</dt><dd>{E(string.Join(", ", o.Models))}</dd>")
          .Append($"<dt>Tasks</dt><dd>{E(string.Join(", ", table.Tasks.Select(t => $"{t} ({table.Metrics[t]})")))}</dd>")
          .Append($"<dt>Seeds</dt><dd>{E(string.Join(", ", o.Seeds))}</dd>")
          .Append($"<dt>Code</dt><dd><code>{E(string.Join(", ", o.CodeVersions))}</code></dd>")
          .Append($"<dt>Machine</dt><dd>{E(string.Join("; ", o.Machines))}</dd>")
          .Append($"<dt>Finished</dt><dd>{E(o.Finished)}</dd></dl>\n");

        ResultsSection(sb, table);
        FindingsSection(sb, table);

        var scatter = Plots.ScoreVsParameters(table);
        var sweeps = Plots.LambdaSweeps(table);
        var losses = Plots.LossCurves(table);
        Figures(sb, "Score against trainable parameters",
            "One marker per table row (colour = method, shape = targets), labelled with its λ (and model, where there are several); bars are ±1 std over seeds. Hover a marker for its row.", scatter);
        Figures(sb, "λ sweeps", "Score against λ = η_V / η_QK on a log₂ axis, a line per target set; bars are ±1 std over seeds.", sweeps);
        Figures(sb, "Training loss", "Mean over completed seeds per configuration, smoothed by a moving average over 4% of the steps; colour = λ (and rank or other settings, where they vary), dash = targets; each line is named in the legend.", losses);

        CostSection(sb, table);
        LostSection(sb, runs, table);
        sb.Append("<footer>Written by <code>eft report</code> from ").Append(o.Runs).Append(" run files. Scores are the task's headline metric ×100.</footer>\n");
        sb.Append("</main>\n</body>\n</html>\n");
        return sb.ToString();
    }

    private static void ResultsSection(StringBuilder sb, ResultsTable table)
    {
        sb.Append("<h2 id=\"results\">Results</h2>\n");
        sb.Append($"<p>Headline metric ×100, mean ± sample std over {table.Seeds} seed{(table.Seeds == 1 ? "" : "s")} (n given where fewer completed); " +
                  "the best mean per column and model in bold, among cells where every seed completed with a score. Diverged and failed runs are counted in their cell. Trainable parameters include the classification head.</p>\n");
        sb.Append("<div class=\"wrap\"><table>\n<thead><tr>");
        if (table.ShowsModel) sb.Append("<th>Model</th>");
        sb.Append("<th>Method</th><th>Targets</th><th class=\"num\">Rank</th><th class=\"num\">λ</th>");
        if (table.ShowsLearningRate) sb.Append("<th class=\"num\">lr</th>");
        if (table.ShowsSettings) sb.Append("<th>Settings</th>");
        sb.Append("<th class=\"num\">Trainable</th>");
        foreach (var t in table.Tasks) sb.Append($"<th class=\"num\">{E(t)}<small>{E(table.Metrics[t])}</small></th>");
        sb.Append($"<th class=\"num\">{E(table.AverageHeading)}</th></tr></thead>\n<tbody>\n");
        ConfigKey? previous = null;
        foreach (var row in table.Rows)
        {
            var k = row.Key;
            var group = previous != null && (previous.Method != k.Method || previous.Targets != k.Targets || previous.Model != k.Model);
            previous = k;
            sb.Append(group ? "<tr class=\"group\">" : "<tr>");
            if (table.ShowsModel) sb.Append($"<td>{E(k.Model)}</td>");
            sb.Append($"<td>{E(ConfigKey.MethodName(k.Method))}</td><td>{E(k.Targets)}</td>")
              .Append($"<td class=\"num\">{(k.UsesRank ? k.Rank.ToString() : "—")}</td><td class=\"num\">{E(Format.Number(k.Lambda))}</td>");
            if (table.ShowsLearningRate) sb.Append($"<td class=\"num\">{E(Format.Number(k.LearningRate))}</td>");
            if (table.ShowsSettings) sb.Append($"<td>{(k.Rest.Length > 0 ? E(k.Rest) : "—")}</td>");
            sb.Append(row.TrainableParameters > 0
                ? $"<td class=\"num\">{E(Format.Count(row.TrainableParameters))} <span class=\"share\">{E(Format.Share(row.TrainableShare))}</span></td>"
                : "<td class=\"num\">—</td>");
            foreach (var t in table.Tasks)
            {
                var cell = row.Cells[t];
                var value = cell.Value is null ? "" : table.IsBest(row, t) ? $"<span class=\"best\">{E(cell.Value)}</span>" : E(cell.Value);
                var notes = string.Concat(cell.Notes(table.Seeds).Select(n => $"<span class=\"note\">{E(n)}</span>"));
                sb.Append($"<td class=\"num\">{(value == "" && notes == "" ? "—" : value + notes)}</td>");
            }
            var avg = row.Average is double a ? E(Format.Score(a)) : "—";
            sb.Append($"<td class=\"num\">{(table.IsBestAverage(row) ? $"<span class=\"best\">{avg}</span>" : avg)}</td></tr>\n");
        }
        sb.Append("</tbody></table></div>\n");
    }

    private static void FindingsSection(StringBuilder sb, ResultsTable table)
    {
        sb.Append("<h2 id=\"findings\">What it says</h2>\n");
        var targets = Findings.TargetsComparison(table);
        var lambdas = Findings.LambdaComparison(table);
        if (targets.Count > 0)
            sb.Append("<h3>q,v against q,k,v (same method, rank and λ)</h3>\n<ul class=\"findings\">")
              .Append(string.Concat(targets.Select(s => $"<li>{E(s)}</li>"))).Append("</ul>\n");
        if (lambdas.Count > 0)
            sb.Append("<h3>The value learning-rate ratio λ</h3>\n<ul class=\"findings\">")
              .Append(string.Concat(lambdas.Select(s => $"<li>{E(s)}</li>"))).Append("</ul>\n");
        if (targets.Count == 0 && lambdas.Count == 0)
            sb.Append("<p>No pair of q,v and q,k,v runs and no λ sweep to compare.</p>\n");
    }

    private static void Figures(StringBuilder sb, string title, string caption, IReadOnlyList<XElement> svgs)
    {
        if (svgs.Count == 0) return;
        sb.Append($"<h2>{E(title)}</h2>\n<p class=\"legend-note\">{E(caption)}</p>\n<div class=\"figs\">\n");
        foreach (var svg in svgs) sb.Append("<figure>").Append(svg.ToString(SaveOptions.DisableFormatting)).Append("</figure>\n");
        sb.Append("</div>\n");
    }

    private static void CostSection(StringBuilder sb, ResultsTable table)
    {
        var costs = CostRow.Of(table);
        if (costs.Count == 0) return;
        sb.Append("<h2 id=\"cost\">Cost</h2>\n<p>Means over the completed runs of every task, λ and seed; peak memory is the largest.</p>\n");
        sb.Append("<div class=\"wrap\"><table><thead><tr><th>Configuration</th><th class=\"num\">Trainable</th><th class=\"num\">Runs</th>" +
                  "<th class=\"num\">s/step</th><th class=\"num\">tokens/s</th><th class=\"num\">Peak memory</th><th class=\"num\">Wall time per run</th></tr></thead><tbody>\n");
        foreach (var c in costs)
            sb.Append($"<tr><td>{E(c.Label)}</td><td class=\"num\">{E(Format.Count(c.TrainableParameters))}</td><td class=\"num\">{c.Runs}</td>" +
                      $"<td class=\"num\">{E(Format.Fixed(c.SecondsPerStep, 3))}</td><td class=\"num\">{E(Format.Fixed(c.TokensPerSecond, 0))}</td>" +
                      $"<td class=\"num\">{E(Format.Bytes(c.PeakMemoryBytes))}</td><td class=\"num\">{E(Format.Seconds(c.WallSeconds))}</td></tr>\n");
        sb.Append("</tbody></table></div>\n");
    }

    private static void LostSection(StringBuilder sb, IReadOnlyList<RunRecord> runs, ResultsTable table)
    {
        sb.Append("<h2 id=\"lost\">Diverged and failed runs</h2>\n");
        var lost = runs.Where(r => r.Status != RunStatus.Completed).ToList();
        if (lost.Count == 0)
        {
            sb.Append("<p>None.</p>\n");
            return;
        }
        sb.Append("<div class=\"wrap\"><table><thead><tr><th>Run</th><th>Task</th><th>Configuration</th><th class=\"num\">Seed</th><th>Status</th><th>Error</th></tr></thead><tbody>\n");
        foreach (var r in lost)
            sb.Append($"<tr><td><code>{E(r.Id)}</code></td><td>{E(r.Settings.Task)}</td><td>{E(table.Label(table.KeyOf(r.Settings)))}</td>" +
                      $"<td class=\"num\">{r.Settings.Seed}</td><td>{E(r.Status)}</td><td>{E(MarkdownReport.ErrorLine(r.Error))}</td></tr>\n");
        sb.Append("</tbody></table></div>\n");
    }

    private static string Card(string value, string label, bool warn = false) =>
        $"<div class=\"card{(warn ? " warn" : "")}\"><b>{E(value)}</b><span>{E(label)}</span></div>";

    private static string E(string s) => WebUtility.HtmlEncode(s);
}
