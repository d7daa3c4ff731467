using System.Xml.Linq;

namespace EfficientFT.Bench.Reporting;

/// <summary>The report's SVG figures, grouped by section; each is one self-contained &lt;svg&gt; element.</summary>
internal static class Plots
{
    /// <summary>Score against trainable parameters (log x), one panel per task, one marker per table row.</summary>
    public static IReadOnlyList<XElement> ScoreVsParameters(ResultsTable table)
    {
        var methods = table.Rows.Select(r => r.Key.Method).Distinct().ToList();
        var targets = table.Rows.Select(r => r.Key.Targets).Distinct().ToList();
        var ranksPerMethod = table.Rows.GroupBy(r => r.Key.Method).ToDictionary(g => g.Key, g => g.Select(r => r.Key.Rank).Distinct().Count());
        var panels = new List<XElement>();
        foreach (var task in table.Tasks)
        {
            var rows = table.Rows.Where(r => r.Cells[task].HasScore && r.TrainableParameters > 0).ToList();
            if (rows.Count == 0) continue;
            var chart = new SvgChart($"{task} · {table.Metrics[task]} vs trainable parameters", "trainable parameters (log scale)", $"{table.Metrics[task]} ×100")
            {
                XScale = AxisScale.Log10, XTickFormat = Format.CountTick, SeriesInLegend = false,
            };
            // Rows with the same trainable count (a λ sweep) sit side by side, 7 px apart, instead of on one vertical.
            var dodge = rows.GroupBy(r => r.TrainableParameters)
                .SelectMany(g => g.Select((r, i) => (r, (i - (g.Count() - 1) / 2.0) * 7)))
                .ToDictionary(x => x.r, x => x.Item2);
            foreach (var row in rows)
            {
                var cell = row.Cells[task];
                var k = row.Key;
                // Colour and shape say method and targets only, so with several models the label names the model.
                var label = (table.ShowsModel ? k.Model + " " : "") + (k.UsesRank && ranksPerMethod[k.Method] > 1 ? $"r{k.Rank} " : "") + $"λ{Format.Number(k.Lambda)}" +
                            (table.ShowsLearningRate ? $" lr{Format.Number(k.LearningRate)}" : "") + Rest(k);
                chart.Add(new ChartSeries(table.Label(k), Palette.Color(methods.IndexOf(k.Method)),
                    [new ChartPoint(row.TrainableParameters, cell.Mean, cell.Std, label,
                        $"{table.Label(k)}: {cell.Text(table.Seeds)} ({Format.Count(row.TrainableParameters)} trainable)", dodge[row])])
                {
                    Line = false, Marker = Palette.Marker(targets.IndexOf(k.Targets)),
                });
            }
            chart.ExtraLegend.AddRange(methods.Select((m, i) => (ConfigKey.MethodName(m), Palette.Color(i), (MarkerShape?)MarkerShape.Circle, (string?)null)));
            chart.ExtraLegend.AddRange(targets.Select((t, i) => (t, "#666666", (MarkerShape?)Palette.Marker(i), (string?)null)));
            panels.Add(chart.Render());
        }
        return panels;
    }

    /// <summary>Score against λ (log2 x), one panel per swept method (rank, lr) and task, a line per targets, ±std bars.</summary>
    public static IReadOnlyList<XElement> LambdaSweeps(ResultsTable table)
    {
        var targets = table.Rows.Select(r => r.Key.Targets).Distinct().ToList();
        var panels = new List<XElement>();
        var sweeps = table.Rows.GroupBy(r => r.Key with { Targets = "", Lambda = 0 })
            .Where(g => g.Select(r => r.Key.Lambda).Distinct().Count() > 1);
        foreach (var sweep in sweeps)
        {
            var k = sweep.Key;
            var name = (table.ShowsModel ? k.Model + " " : "") + ConfigKey.MethodName(k.Method) + (k.UsesRank ? $" r={k.Rank}" : "") +
                       (table.ShowsLearningRate ? $" lr={Format.Number(k.LearningRate)}" : "") + Rest(k);
            foreach (var task in table.Tasks)
            {
                if (!sweep.Any(r => r.Cells[task].HasScore)) continue;
                var chart = new SvgChart($"{name} · {task}", "λ = η_V / η_QK (log₂ scale)", $"{table.Metrics[task]} ×100") { XScale = AxisScale.Log2 };
                var lines = sweep.GroupBy(r => r.Key.Targets).ToList();
                foreach (var (line, n) in lines.Select((l, n) => (l, n)))
                {
                    var i = targets.IndexOf(line.Key);
                    var dodge = (n - (lines.Count - 1) / 2.0) * 5; // Keeps the error bars of the target sets apart.
                    chart.Add(new ChartSeries(line.Key, Palette.Color(i),
                        line.Where(r => r.Cells[task].HasScore).Select(r => new ChartPoint(r.Key.Lambda, r.Cells[task].Mean, r.Cells[task].Std,
                            Tooltip: $"{table.Label(r.Key)}: {r.Cells[task].Text(table.Seeds)}", Dodge: dodge)).ToList())
                    {
                        Marker = Palette.Marker(i), Dash = Palette.Dash(i),
                    });
                }
                panels.Add(chart.Render());
            }
        }
        return panels;
    }

    /// <summary>
    /// Training loss, the mean over completed seeds per configuration smoothed by a moving average; one panel per task
    /// and method (model, lr), a line per targets × rank × λ. The y axis is logarithmic when the loss spans a decade.
    /// </summary>
    public static IReadOnlyList<XElement> LossCurves(ResultsTable table)
    {
        var panels = new List<XElement>();
        foreach (var task in table.Tasks)
        {
            foreach (var method in table.Rows.GroupBy(r => (r.Key.Model, r.Key.Method, r.Key.LearningRate)))
            {
                var curves = method.Select(r => (Row: r, Curve: MeanLoss(r.Runs.Where(x => x.Settings.Task == task && x.Status == RunStatus.Completed).ToList())))
                    .Where(c => c.Curve.Count > 1).ToList();
                if (curves.Count == 0) continue;
                var finite = curves.SelectMany(c => c.Curve).Select(p => p.Y).Where(y => y > 0).ToList();
                var logY = finite.Count > 0 && finite.Max() / finite.Min() > 10;
                var lambdas = method.Select(r => r.Key.Lambda).Distinct().Order().ToList();
                var targets = method.Select(r => r.Key.Targets).Distinct().ToList();
                var ranks = method.Select(r => r.Key.Rank).Distinct().Order().ToList();
                var rests = method.Select(r => r.Key.Rest).Distinct().ToList();
                var name = (table.ShowsModel ? method.Key.Model + " " : "") + ConfigKey.MethodName(method.Key.Method) +
                           (table.ShowsLearningRate ? $" lr={Format.Number(method.Key.LearningRate)}" : "");
                var chart = new SvgChart($"{task} · {name} · training loss", "optimizer step", logY ? "loss (log scale)" : "loss")
                {
                    YScale = logY ? AxisScale.Log10 : AxisScale.Linear,
                };
                foreach (var (row, curve) in curves)
                {
                    var k = row.Key;
                    var label = k.Targets + (k.UsesRank && ranks.Count > 1 ? $" r={k.Rank}" : "") + $" λ={Format.Number(k.Lambda)}" + Rest(k);
                    var colour = lambdas.IndexOf(k.Lambda) + lambdas.Count * (ranks.IndexOf(k.Rank) + ranks.Count * rests.IndexOf(k.Rest));
                    chart.Add(new ChartSeries(label, Palette.Color(colour), curve)
                    {
                        Marker = null, Dash = Palette.Dash(targets.IndexOf(k.Targets)),
                    });
                }
                panels.Add(chart.Render());
            }
        }
        return panels;
    }

    /// <summary>Per step, the mean of the seeds' finite losses; then a centred moving average and at most 200 points.</summary>
    internal static List<ChartPoint> MeanLoss(IReadOnlyList<RunRecord> runs)
    {
        var steps = runs.Select(r => r.Losses.Count).DefaultIfEmpty(0).Max();
        var mean = new List<(int Step, double Loss)>();
        for (var s = 0; s < steps; s++)
        {
            var values = runs.Where(r => s < r.Losses.Count && float.IsFinite(r.Losses[s])).Select(r => (double)r.Losses[s]).ToList();
            if (values.Count > 0) mean.Add((s + 1, values.Average()));
        }
        var window = Math.Max(1, mean.Count / 25);
        var stride = Math.Max(1, mean.Count / 200);
        var points = new List<ChartPoint>();
        for (var i = 0; i < mean.Count; i += stride)
        {
            int lo = Math.Max(0, i - window / 2), hi = Math.Min(mean.Count - 1, i + window / 2);
            var avg = 0.0;
            for (var j = lo; j <= hi; j++) avg += mean[j].Loss;
            points.Add(new ChartPoint(mean[i].Step, avg / (hi - lo + 1)));
        }
        return points;
    }

    /// <summary>" alpha=16": the settings a row has beyond the key's own fields, so rows that differ only there differ in the plot too.</summary>
    private static string Rest(ConfigKey k) => k.Rest.Length > 0 ? " " + k.Rest : "";
}
