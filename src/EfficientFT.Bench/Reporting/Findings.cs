namespace EfficientFT.Bench.Reporting;

/// <summary>
/// The "what it says" sentences, computed from the table: q,v against q,k,v at the same method, rank, λ and lr (the
/// paper's first insight), and the best λ per method against λ = 1 (its second). Each difference between cells with
/// two or more seeds carries the p-value of Welch's t-test over the seeds, and "significant" means below
/// <see cref="WelchTest.Level"/>; nothing is claimed beyond the numbers.
/// </summary>
public static class Findings
{
    private static readonly HashSet<string> Qv = ["q", "v"];
    private static readonly HashSet<string> Qkv = ["q", "k", "v"];

    /// <summary>One sentence per matched pair of q,v and q,k,v rows, then one overall sentence (none without pairs).</summary>
    public static IReadOnlyList<string> TargetsComparison(ResultsTable table)
    {
        var sentences = new List<string>();
        var all = new List<(double Diff, double? P)>();
        var pairs = 0;
        foreach (var qv in table.Rows.Where(r => r.Key.TargetSet.SetEquals(Qv)))
        {
            var qkv = table.Rows.FirstOrDefault(r => r.Key.TargetSet.SetEquals(Qkv) && r.Key with { Targets = "" } == qv.Key with { Targets = "" });
            if (qkv == null) continue;
            var diffs = table.Tasks.Where(t => qv.Cells[t].HasScore && qkv.Cells[t].HasScore)
                .Select(t => (Task: t, Diff: qv.Cells[t].Mean - qkv.Cells[t].Mean, P: WelchTest.PValue(qv.Cells[t], qkv.Cells[t])))
                .ToList();
            if (diffs.Count == 0) continue;
            pairs++;
            all.AddRange(diffs.Select(d => (d.Diff, d.P)));
            var mean = diffs.Average(d => d.Diff);
            var perTask = string.Join(", ", diffs.Select(d => $"{d.Task} {Format.Signed(d.Diff)}{Tested(d.P)}"));
            var config = (table.ShowsModel ? qv.Key.Model + " " : "") + ConfigKey.MethodName(qv.Key.Method) +
                         (qv.Key.UsesRank ? $" r={qv.Key.Rank}" : "") + $" λ={Format.Number(qv.Key.Lambda)}" +
                         (table.ShowsLearningRate ? $" lr={Format.Number(qv.Key.LearningRate)}" : "");
            sentences.Add($"{config}: q,v scores {Format.Signed(mean)} points against q,k,v on average over {Plural(diffs.Count, "task")} " +
                          $"({perTask}), {Cost(qv.TrainableParameters, qkv.TrainableParameters)}.");
        }
        if (all.Count == 0) return sentences;
        var overall = all.Average(d => d.Diff);
        var ahead = all.Count(d => d.Diff > 0);
        var tested = all.Count(d => d.P != null);
        var significant = all.Where(d => d.P < WelchTest.Level).ToList();
        string testedText, verdict;
        if (tested == 0)
        {
            testedText = "no cell has two seeds on both sides, so no difference can be tested against seed noise.";
            verdict = overall >= 0
                ? " On these numbers q,v matches or beats q,k,v, as the paper's first insight says."
                : " On these numbers q,k,v is ahead, unlike the paper's first insight.";
        }
        else
        {
            // At the 5% level about one test in twenty comes out significant by chance alone, and a grid makes many
            // tests at once: the verdict rests on the differences that survive Holm's correction for all of them.
            var testedDiffs = all.Where(d => d.P != null).ToList();
            var adjusted = Holm.Adjust(testedDiffs.Select(d => d.P!.Value).ToList());
            var survivors = testedDiffs.Where((_, i) => adjusted[i] < WelchTest.Level).ToList();
            testedText = $"significant at p < {Format.Fixed(WelchTest.Level, 2)} (Welch's t-test over seeds): {significant.Count} of " +
                         $"{Plural(tested, "tested difference")}, where chance alone gives about {Format.Fixed(WelchTest.Level * tested, 1)}; " +
                         $"{survivors.Count} {(survivors.Count == 1 ? "remains" : "remain")} significant after Holm's correction for {Plural(tested, "test")}.";
            verdict = survivors.Count > 0 ? $" {Capitalized(Favour(survivors, "those that remain", "the one that remains"))}."
                : significant.Count == 0 ? " At these seeds the two target sets cannot be told apart."
                : $" So at these seeds the two target sets cannot be told apart (uncorrected, {Favour(significant, "the significant ones", "the significant one")}).";
        }
        sentences.Add($"Overall, over {Plural(pairs, "matched configuration")} and {Plural(all.Count, "task cell")}, q,v scores " +
                      $"{Format.Signed(overall)} points against q,k,v on average; q,v is ahead in {ahead} of {all.Count} cells; " +
                      $"{testedText}{verdict}");
        return sentences;
    }

    /// <summary>For each method, targets, rank (and lr) swept over λ: the λ with the best average and per task, against λ = 1.</summary>
    public static IReadOnlyList<string> LambdaComparison(ResultsTable table)
    {
        var sentences = new List<string>();
        foreach (var sweep in table.Rows.GroupBy(r => r.Key with { Lambda = 0 }).Where(g => g.Count() > 1))
        {
            var rows = sweep.OrderBy(r => r.Key.Lambda).ToList();
            var baseline = rows.FirstOrDefault(r => r.Key.Lambda == 1);
            var k = rows[0].Key;
            var config = (table.ShowsModel ? k.Model + " " : "") + $"{ConfigKey.MethodName(k.Method)} {k.Targets}" +
                         (k.UsesRank ? $" r={k.Rank}" : "") + (table.ShowsLearningRate ? $" lr={Format.Number(k.LearningRate)}" : "");
            var parts = new List<string>();
            // The best as the table bolds it: among cells that lost no seed.
            if (rows.Where(table.IsRankableAverage).MaxBy(r => r.Average!.Value) is { } bestAvg)
            {
                var s = $"the best average is at λ={Format.Number(bestAvg.Key.Lambda)} ({Format.Score(bestAvg.Average!.Value)})";
                if (baseline?.Average is double b && !ReferenceEquals(bestAvg, baseline))
                    s += $", {Format.Signed(bestAvg.Average.Value - b)} points over λ=1 ({Format.Score(b)})";
                else if (ReferenceEquals(bestAvg, baseline))
                    s += ", i.e. no other λ improves on λ=1";
                parts.Add(s);
            }
            var perTask = new List<string>();
            var corrected = false;
            foreach (var t in table.Tasks)
            {
                var best = rows.Where(r => table.IsRankable(r, t)).MaxBy(r => r.Cells[t].Mean);
                if (best == null) continue;
                var text = $"{t} λ={Format.Number(best.Key.Lambda)}";
                if (baseline != null && baseline.Cells[t].HasScore && !ReferenceEquals(best, baseline))
                {
                    var d = best.Cells[t].Mean - baseline.Cells[t].Mean;
                    var p = BestAgainstBaseline(rows, baseline, best, t);
                    corrected |= p != null;
                    text += $" ({Format.Signed(d)}{(p is { } value ? ", " + WelchTest.Format(value) : "")})";
                }
                perTask.Add(text);
            }
            if (perTask.Count > 0)
                parts.Add("per task " + string.Join(", ", perTask) +
                          (corrected ? " (p after Holm's correction for the λ values each task compares with λ=1)" : ""));
            if (baseline == null) parts.Add("no λ=1 run to compare against");
            var unstable = rows.Where(r => r.Cells.Values.Any(c => c.Diverged + c.Failed > 0))
                .Select(r => $"λ={Format.Number(r.Key.Lambda)} lost {r.Cells.Values.Sum(c => c.Diverged + c.Failed)} of {r.Cells.Values.Sum(c => c.Runs)} runs")
                .ToList();
            if (unstable.Count > 0) parts.Add(string.Join(", ", unstable) + " to divergence or failure");
            sentences.Add($"{config}: {string.Join("; ", parts)}.");
        }
        return sentences;
    }

    /// <summary>
    /// The p-value of the task's best λ against λ = 1, corrected by Holm for every λ of the sweep tested against λ = 1
    /// on that task: the best of several λ is a choice made after seeing the scores, and its raw p would flatter it.
    /// </summary>
    private static double? BestAgainstBaseline(List<ResultsRow> rows, ResultsRow baseline, ResultsRow best, string task)
    {
        var tested = rows.Where(r => !ReferenceEquals(r, baseline) && r.Cells[task].HasScore)
            .Select(r => (Row: r, P: WelchTest.PValue(r.Cells[task], baseline.Cells[task])))
            .Where(x => x.P != null).ToList();
        var index = tested.FindIndex(x => ReferenceEquals(x.Row, best));
        return index < 0 ? null : Holm.Adjust(tested.Select(x => x.P!.Value).ToList())[index];
    }

    /// <summary>
    /// Which target set the differences favour and whether that agrees with the paper's first insight, as a clause
    /// in lower case without its full stop, named <paramref name="one"/> or <paramref name="many"/>.
    /// </summary>
    private static string Favour(List<(double Diff, double? P)> differences, string many, string one)
    {
        var qvAhead = differences.Count(d => d.Diff > 0);
        var (subject, verb) = differences.Count == 1 ? (one, "favours") : (many, "favour");
        return qvAhead == differences.Count ? $"{subject} {verb} q,v, as the paper's first insight says"
            : qvAhead == 0 ? $"{subject} {verb} q,k,v, unlike the paper's first insight"
            : $"of {many}, {qvAhead} favour q,v and {differences.Count - qvAhead} q,k,v";
    }

    private static string Capitalized(string text) => char.ToUpperInvariant(text[0]) + text[1..];

    private static string Tested(double? p) => p is { } value ? $" ({WelchTest.Format(value)})" : "";

    private static string Cost(long qv, long qkv)
    {
        if (qv <= 0 || qkv <= 0) return "trainable parameters unknown";
        if (qv == qkv) return $"at the same trainable parameters ({Format.Count(qv)})";
        var fewer = qv < qkv;
        var share = Math.Abs(qkv - qv) / (double)qkv;
        return $"with {Format.Count(Math.Abs(qkv - qv))} ({Format.Share(share)}) {(fewer ? "fewer" : "more")} trainable parameters " +
               $"({Format.Count(qv)} against {Format.Count(qkv)})";
    }

    private static string Plural(int n, string noun) => $"{n} {noun}{(n == 1 ? "" : "s")}";
}
