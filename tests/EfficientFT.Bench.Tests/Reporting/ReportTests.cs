using System.Text.RegularExpressions;
using System.Xml.Linq;
using EfficientFT.Bench.Reporting;

namespace EfficientFT.Bench.Tests.Reporting;

public sealed class ReportTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("eft-report-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static RunRecord Run(string task, string targets, ulong seed, double? score, long trainable, string status = RunStatus.Completed,
        double lambda = 1)
    {
        var s = SyntheticResults.Settings(task, "lora", targets, lambda, seed);
        return new RunRecord
        {
            Id = s.Id, Settings = s, Status = status, CodeVersion = "abc", HeadlineMetric = "accuracy", Headline = score,
            Error = status == RunStatus.Completed ? null : "loss is NaN at step 3",
            TrainableParameters = trainable, TrainableShare = trainable / 124_650_000.0, Losses = [0.7f, 0.6f, 0.5f],
        };
    }

    /// <summary>One cell's completed runs, seed i scoring <paramref name="scores"/>[i].</summary>
    private static IEnumerable<RunRecord> Seeds(string task, string targets, long trainable, double[] scores, double lambda = 1) =>
        scores.Select((score, i) => Run(task, targets, (ulong)i, score, trainable, lambda: lambda));

    /// <summary>
    /// Hand-computed cells: rte q,v {74, 75, 76} → 75.00 ± 1.00 (plus one diverged seed), q,k,v {69, 70, 71} →
    /// 70.00 ± 1.00; mrpc q,v {80, 81, 82} → 81.00 ± 1.00, q,k,v {82, 83, 84} → 83.00 ± 1.00. Averages 78.00 and 76.50.
    /// </summary>
    private static List<RunRecord> Known() =>
    [
        .. Seeds("rte", "q,v", 1_480_000, [0.74, 0.75, 0.76]),
        Run("rte", "q,v", 3, null, 1_480_000, RunStatus.Diverged),
        .. Seeds("rte", "q,k,v", 1_620_000, [0.69, 0.70, 0.71]),
        .. Seeds("mrpc", "q,v", 1_480_000, [0.80, 0.81, 0.82]),
        .. Seeds("mrpc", "q,k,v", 1_620_000, [0.82, 0.83, 0.84]),
    ];

    private static string[] TableRow(string markdown, string startsWith) =>
        markdown.Split('\n').Single(l => l.StartsWith(startsWith)).Split(" | ").Select(c => c.Trim(' ', '|')).ToArray();

    /// <summary>Means that tie as printed are all bold, not only the row that happens to come first.</summary>
    [Fact]
    public void Tied_means_are_all_bold()
    {
        List<RunRecord> runs = [.. Seeds("rte", "q,v", 10, [0.70, 0.72]), .. Seeds("rte", "q,k,v", 12, [0.72, 0.70]), .. Seeds("rte", "q,v", 10, [0.60, 0.62], lambda: 2)];
        var (md, _) = Report.Write(runs, _dir);
        var text = File.ReadAllText(md);
        Assert.StartsWith("**71.00", TableRow(text, "| LoRA | q,v | 8 | 1 |")[5]);
        Assert.StartsWith("**71.00", TableRow(text, "| LoRA | q,k,v | 8 | 1 |")[5]);
        Assert.StartsWith("61.00", TableRow(text, "| LoRA | q,v | 8 | 2 |")[5]);
    }

    /// <summary>A fix that changes results keeps run ids: a cell pooling seeds made by two code versions says so.</summary>
    [Fact]
    public void A_cell_pooling_several_code_versions_says_so()
    {
        var runs = Seeds("rte", "q,v", 10, [0.70, 0.72]).Select((r, i) => r with { CodeVersion = i == 0 ? "abc" : "def" }).ToList();
        var cell = ResultsTable.Build(runs).Rows.Single().Cells["rte"];
        Assert.Contains("2 code versions", cell.Notes(2));
        Assert.DoesNotContain(ResultsTable.Build(Seeds("rte", "q,v", 10, [0.70, 0.72]).ToList()).Rows.Single().Cells["rte"].Notes(2), n => n.Contains("code"));
    }

    /// <summary>A headline averaged over evaluation splits (MNLI's) says so in its column header.</summary>
    [Fact]
    public void A_headline_over_several_splits_names_them()
    {
        var runs = Seeds("mnli", "q,v", 10, [0.80, 0.82]).Select(r => r with
        {
            Scores = new Dictionary<string, double> { ["accuracy"] = 0.81, ["accuracy_validation_matched"] = 0.80, ["accuracy_validation_mismatched"] = 0.82 },
        }).ToList();
        Assert.Equal("accuracy, mean of validation_matched and validation_mismatched", ResultsTable.Build(runs).Metrics["mnli"]);
    }

    /// <summary>Markers say method (colour) and targets (shape); with two models each marker's label names its model.</summary>
    [Fact]
    public void Score_markers_name_their_model_where_there_are_several()
    {
        List<RunRecord> runs =
        [
            .. Seeds("rte", "q,v", 10, [0.60, 0.62]),
            .. Seeds("rte", "q,v", 10, [0.80, 0.82]).Select(r => r with { Settings = r.Settings with { Model = "big-model" } }),
        ];
        var svg = Assert.Single(Plots.ScoreVsParameters(ResultsTable.Build(runs)));
        var labels = svg.Descendants().Where(e => e.Name.LocalName == "text").Select(e => e.Value).ToList();
        Assert.Contains(labels, l => l.StartsWith("big-model ", StringComparison.Ordinal));
        Assert.Contains(labels, l => l.StartsWith(runs[0].Settings.Model + " ", StringComparison.Ordinal));
    }

    /// <summary>Runs of one task naming different headline metrics (a task.json edited between runs) are labelled so.</summary>
    [Fact]
    public void A_column_whose_runs_disagree_on_the_headline_metric_says_so()
    {
        List<RunRecord> runs = [.. Seeds("mine", "q,v", 10, [0.70]), .. Seeds("mine", "q,k,v", 10, [0.60]).Select(r => r with { HeadlineMetric = "f1" })];
        var table = ResultsTable.Build(runs);
        Assert.Equal("accuracy or f1: runs disagree on the headline metric", table.Metrics["mine"]);
        Assert.DoesNotContain(table.Rows, r => table.IsBest(r, "mine"));
    }

    /// <summary>An error's or a name's Markdown characters are shown as they are, not as a tag or emphasis.</summary>
    [Fact]
    public void Errors_and_names_keep_their_markdown_characters()
    {
        List<RunRecord> runs =
        [
            .. Seeds("rte", "q,v", 10, [0.70, 0.72]),
            Run("my_task*", "q,v", 5, null, 10, RunStatus.Failed) with { Error = "InvalidOperationException: List<Tensor> was *empty*" },
        ];
        var (md, _) = Report.Write(runs, _dir);
        var text = File.ReadAllText(md);
        Assert.Contains("`InvalidOperationException: List<Tensor> was *empty*`", text);
        Assert.Contains("my\\_task\\*", text);

        // Also in the sentences computed from the table, which name tasks and models.
        List<RunRecord> compared = [.. Seeds("my_task*", "q,v", 10, [0.70, 0.72]), .. Seeds("my_task*", "q,k,v", 15, [0.60, 0.61])];
        var (findings, _) = Report.Write(compared, Path.Combine(_dir, "findings"));
        var sentences = File.ReadAllText(findings);
        Assert.Contains("q,v against q,k,v", sentences);
        Assert.DoesNotContain("my_task*", sentences);
    }

    /// <summary>
    /// A grid over alpha gives runs of one configuration and task that differ in more than the seed: they get a row
    /// each, with alpha in a Settings column, instead of being pooled. A max_length that differs only between tasks
    /// splits nothing, nor does the sweep split another configuration's row.
    /// </summary>
    [Fact]
    public void Runs_that_differ_in_another_setting_are_not_pooled_as_seeds()
    {
        RunRecord With(RunRecord r, double alpha) => r with { Settings = r.Settings with { Alpha = alpha, MaxLength = r.Settings.Task == "rte" ? 256 : 128 } };
        List<RunRecord> runs =
        [
            .. Seeds("rte", "q,v", 10, [0.70, 0.72]).Select(r => With(r, 8)),
            .. Seeds("rte", "q,v", 10, [0.80, 0.82]).Select(r => With(r, 16)),
            .. Seeds("mrpc", "q,v", 10, [0.60, 0.62]).Select(r => With(r, 8)),
            .. Seeds("mrpc", "q,v", 10, [0.50, 0.52]).Select(r => With(r, 16)),
            .. Seeds("rte", "q,k,v", 12, [0.74, 0.76]).Select(r => With(r, 8)),
            .. Seeds("mrpc", "q,k,v", 12, [0.64, 0.66]).Select(r => With(r, 8)),
        ];
        var table = ResultsTable.Build(runs);
        // alpha splits rows, so every row shows its alpha: the q,k,v row pairs with q,v at alpha=8. max_length differs
        // only between tasks, and splits nothing.
        Assert.Equal(["LoRA q,k,v r=8 λ=1 alpha=8", "LoRA q,v r=8 λ=1 alpha=8", "LoRA q,v r=8 λ=1 alpha=16"], table.Rows.Select(r => table.Label(r.Key)));
        Assert.Equal([75.0, 71.0, 81.0], table.Rows.Select(r => r.Cells["rte"].Mean), new ToleranceComparer(1e-9));
        Assert.Equal([65.0, 61.0, 51.0], table.Rows.Select(r => r.Cells["mrpc"].Mean), new ToleranceComparer(1e-9));

        var (md, _) = Report.Write(runs, _dir);
        var text = File.ReadAllText(md);
        Assert.Equal(["LoRA", "q,v", "8", "1", "alpha=16"], TableRow(text, "| LoRA | q,v | 8 | 1 | alpha=16 |")[..5]);
        Assert.Equal("alpha=8", TableRow(text, "| LoRA | q,k,v |")[4]);
        Assert.NotEmpty(Findings.TargetsComparison(table));
    }

    /// <summary>An alpha sweep of LoRA splits LoRA's rows, but full fine-tuning, which has no alpha, shows none.</summary>
    [Fact]
    public void A_setting_a_method_has_no_use_for_is_not_shown_on_its_rows()
    {
        RunRecord Full(RunRecord r) => r with { Settings = r.Settings with { Method = "full_ft", Rank = 0 } };
        List<RunRecord> runs =
        [
            .. Seeds("rte", "q,v", 10, [0.70, 0.72]),
            .. Seeds("rte", "q,v", 10, [0.80, 0.82]).Select(r => r with { Settings = r.Settings with { Alpha = 16 } }),
            .. Seeds("rte", "q,v", 20, [0.75, 0.77]).Select(Full),
        ];
        var table = ResultsTable.Build(runs);
        Assert.Equal(["Full FT q,v λ=1", "LoRA q,v r=8 λ=1 alpha=8", "LoRA q,v r=8 λ=1 alpha=16"], table.Rows.Select(r => table.Label(r.Key)));
    }

    /// <summary>The spec leaves an option at its default out of a run's settings; a sweep over it still splits rows.</summary>
    [Fact]
    public void A_sweep_over_a_method_option_that_includes_its_default_is_not_pooled()
    {
        List<RunRecord> runs =
        [
            .. Seeds("rte", "q,v", 10, [0.70, 0.72]),
            .. Seeds("rte", "q,v", 10, [0.80, 0.82]).Select(r => r with { Settings = r.Settings with { MethodOptions = new Dictionary<string, string> { ["loraplus_ratio"] = "8" } } }),
        ];
        var table = ResultsTable.Build(runs);
        Assert.Equal(["LoRA q,v r=8 λ=1 loraplus_ratio=8", "LoRA q,v r=8 λ=1 loraplus_ratio=default"], table.Rows.Select(r => table.Label(r.Key)));
    }

    private sealed class ToleranceComparer(double tolerance) : IEqualityComparer<double>
    {
        public bool Equals(double a, double b) => Math.Abs(a - b) <= tolerance;

        public int GetHashCode(double value) => 0;
    }

    /// <summary>A completed run whose headline is NaN (Pearson's r of a constant prediction) is counted, not lost.</summary>
    [Fact]
    public void A_completed_run_without_a_score_is_noted_in_its_cell()
    {
        List<RunRecord> runs = [.. Seeds("rte", "q,v", 10, [0.74, 0.76]), Run("rte", "q,v", 2, double.NaN, 10)];
        var (md, _) = Report.Write(runs, _dir);
        Assert.Equal("75.00 ± 1.41 · no score 1/3", TableRow(File.ReadAllText(md), "| LoRA | q,v |")[5].Replace("**", ""));
    }

    [Fact]
    public void Markdown_table_has_mean_std_bold_best_and_trainable_parameters()
    {
        var (md, _) = Report.Write(Known(), _dir);
        var text = File.ReadAllText(md);
        // Columns: Method, Targets, Rank, λ, Trainable, rte, mrpc, Avg; q,k,v rows come first as in Table 2. The q,v
        // row's rte mean is the higher, but over three of its four seeds: the best is chosen among whole cells.
        Assert.Contains("| Method | Targets | Rank | λ | Trainable (share) | rte (accuracy) | mrpc (accuracy) | Avg (2 tasks) |", text);
        var qv = TableRow(text, "| LoRA | q,v |");
        var qkv = TableRow(text, "| LoRA | q,k,v |");
        Assert.Equal(["LoRA", "q,v", "8", "1", "1.48M (1.19%)", "75.00 ± 1.00 · diverged 1/4", "81.00 ± 1.00", "78.00"], qv);
        Assert.Equal(["LoRA", "q,k,v", "8", "1", "1.62M (1.30%)", "**70.00 ± 1.00**", "**83.00 ± 1.00**", "**76.50**"], qkv);
        Assert.True(text.IndexOf("| LoRA | q,k,v |", StringComparison.Ordinal) < text.IndexOf("| LoRA | q,v |", StringComparison.Ordinal));
        Assert.Contains("loss is NaN at step 3", text);
    }

    /// <summary>Each model's rows have their own best: a small model's best is not outshone by a larger model's rows.</summary>
    [Fact]
    public void The_best_cell_is_chosen_per_model()
    {
        List<RunRecord> runs =
        [
            .. Seeds("rte", "q,v", 10, [0.60, 0.62]), .. Seeds("rte", "q,k,v", 15, [0.50, 0.52]),
            .. Seeds("rte", "q,v", 10, [0.80, 0.82]).Select(r => r with { Settings = r.Settings with { Model = "big" } }),
        ];
        var table = ResultsTable.Build(runs);
        Assert.Equal(2, table.Rows.Count(r => table.IsBest(r, "rte")));
        Assert.False(table.IsBest(table.Rows.Single(r => r.Key.Targets == "q,k,v"), "rte"));
    }

    [Fact]
    public void Targets_sentence_gives_the_sign_number_and_parameter_cost()
    {
        var sentences = Findings.TargetsComparison(ResultsTable.Build(Known()));
        Assert.Equal(2, sentences.Count);
        // Welch's t on 3 + 3 seeds of variance 1: t = d/√(2/3) on 4 degrees of freedom; rte t = 6.12, mrpc t = −2.45,
        // two-sided p = 0.0036 and 0.070 (the t density integrated numerically, independently of the code).
        Assert.Equal("LoRA r=8 λ=1: q,v scores +1.50 points against q,k,v on average over 2 tasks (rte +5.00 (p = 0.0036), " +
                     "mrpc −2.00 (p = 0.070)), with 0.14M (8.64%) fewer trainable parameters (1.48M against 1.62M).", sentences[0]);
        Assert.Equal("Overall, over 1 matched configuration and 2 task cells, q,v scores +1.50 points against q,k,v on average; " +
                     "q,v is ahead in 1 of 2 cells; significant at p < 0.05 (Welch's t-test over seeds): 1 of 2 tested differences, " +
                     "where chance alone gives about 0.1; 1 remains significant after Holm's correction for 2 tests. " +
                     "The one that remains favours q,v, as the paper's first insight says.", sentences[1]);
    }

    [Fact]
    public void Targets_sentence_says_when_no_difference_is_significant()
    {
        // rte q,v {70, 73, 76}: 73.00 ± 3.00 against 70.00 ± 1.00: Welch's t = 3/√(9/3 + 1/3) = 1.64 on
        // (10/3)² / ((3² + (1/3)²) / 2) = 2.44 degrees of freedom, p = 0.22.
        List<RunRecord> runs =
        [
            .. Seeds("rte", "q,v", 10, [0.70, 0.73, 0.76]),
            .. Seeds("rte", "q,k,v", 12, [0.69, 0.70, 0.71]),
        ];
        var sentences = Findings.TargetsComparison(ResultsTable.Build(runs));
        Assert.Contains("(rte +3.00 (p = 0.22))", sentences[0]);
        Assert.Contains("(Welch's t-test over seeds): 0 of 1 tested difference, where chance alone gives about 0.1; " +
                        "0 remain significant after Holm's correction for 1 test.", sentences[1]);
        Assert.EndsWith("At these seeds the two target sets cannot be told apart.", sentences[1]);
    }

    [Fact]
    public void Targets_verdict_follows_the_significant_differences_not_the_average()
    {
        // rte favours q,k,v by 5 (p = 0.0036); spam favours q,v by 12 with a spread that leaves it indistinguishable
        // from noise (q,v {60, 76, 92}: t = 12/√(256/3 + 1/3) = 1.30 on 2.0 degrees of freedom). The average favours
        // q,v (+3.50), the only significant cell does not.
        List<RunRecord> runs =
        [
            .. Seeds("rte", "q,v", 10, [0.69, 0.70, 0.71]),
            .. Seeds("rte", "q,k,v", 12, [0.74, 0.75, 0.76]),
            .. Seeds("spam", "q,v", 10, [0.60, 0.76, 0.92]),
            .. Seeds("spam", "q,k,v", 12, [0.63, 0.64, 0.65]),
        ];
        var sentences = Findings.TargetsComparison(ResultsTable.Build(runs));
        Assert.Contains("+3.50 points against q,k,v on average", sentences[1]);
        // Holm: 2 × 0.0036 stays below 0.05.
        Assert.EndsWith("1 of 2 tested differences, where chance alone gives about 0.1; 1 remains significant after Holm's correction " +
                        "for 2 tests. The one that remains favours q,k,v, unlike the paper's first insight.", sentences[1]);
    }

    [Fact]
    public void Targets_verdict_rests_on_the_differences_that_survive_the_correction()
    {
        // rte differs by the two-sided 2% critical value of Student's t on 4 degrees of freedom, 3.7469 (statistical
        // tables), times the standard error √(2/3); mrpc and spam do not differ at all (p = 1). Uncorrected, rte is
        // significant (p = 0.02); Holm's correction for three tests asks for 3 × 0.02 = 0.06 < 0.05, which fails.
        var d = 3.7469 * Math.Sqrt(2.0 / 3) / 100;
        List<RunRecord> runs =
        [
            .. Seeds("rte", "q,v", 10, [0.70 + d, 0.71 + d, 0.72 + d]),
            .. Seeds("rte", "q,k,v", 12, [0.70, 0.71, 0.72]),
            .. Seeds("mrpc", "q,v", 10, [0.80, 0.81, 0.82]),
            .. Seeds("mrpc", "q,k,v", 12, [0.80, 0.81, 0.82]),
            .. Seeds("spam", "q,v", 10, [0.90, 0.91, 0.92]),
            .. Seeds("spam", "q,k,v", 12, [0.90, 0.91, 0.92]),
        ];
        var sentences = Findings.TargetsComparison(ResultsTable.Build(runs));
        Assert.Contains("rte +3.06 (p = 0.020)", sentences[0]);
        Assert.EndsWith("1 of 3 tested differences, where chance alone gives about 0.2; 0 remain significant after Holm's correction " +
                        "for 3 tests. So at these seeds the two target sets cannot be told apart (uncorrected, the significant one " +
                        "favours q,v, as the paper's first insight says).", sentences[1]);
    }

    [Fact]
    public void Single_seeds_are_not_tested()
    {
        List<RunRecord> runs = [Run("rte", "q,v", 0, 0.74, 10), Run("rte", "q,k,v", 0, 0.70, 12)];
        var sentences = Findings.TargetsComparison(ResultsTable.Build(runs));
        Assert.Contains("(rte +4.00)", sentences[0]);
        Assert.Contains("no cell has two seeds on both sides, so no difference can be tested against seed noise.", sentences[1]);
    }

    [Fact]
    public void Lambda_sentence_names_the_best_lambda_against_lambda_one()
    {
        var sentences = Findings.LambdaComparison(ResultsTable.Build(SyntheticResults.Grid()));
        Assert.Equal(SyntheticResults.Methods.Length * SyntheticResults.Targets.Length, sentences.Count);
        var lora = sentences.Single(s => s.StartsWith("LoRA q,v r=8:"));
        Assert.Matches(@"the best average is at λ=4 \(\d+\.\d\d\), \+\d+\.\d\d points over λ=1", lora);
        Assert.Contains("λ=8 lost 1 of 9 runs", sentences.Single(s => s.StartsWith("Full FT q,v:")));
    }

    [Fact]
    public void Lambda_sentence_corrects_the_best_lambdas_p_for_the_lambdas_it_was_picked_from()
    {
        // λ=4 beats λ=1 on rte by the two-sided 2% critical t on 4 degrees of freedom (3.7469, statistical tables) times
        // the standard error √(2/3), so its raw p is 0.020; λ=2 equals λ=1 (p = 1). Holm over the two λ compared with
        // λ=1 doubles the smaller p: 0.040. On mrpc the best λ is λ=1 itself, which is not tested.
        var d = 3.7469 * Math.Sqrt(2.0 / 3) / 100;
        List<RunRecord> runs =
        [
            .. Seeds("rte", "q,v", 10, [0.70, 0.71, 0.72], lambda: 1), .. Seeds("rte", "q,v", 10, [0.70, 0.71, 0.72], lambda: 2),
            .. Seeds("rte", "q,v", 10, [0.70 + d, 0.71 + d, 0.72 + d], lambda: 4),
            .. Seeds("mrpc", "q,v", 10, [0.80, 0.81, 0.82], lambda: 1), .. Seeds("mrpc", "q,v", 10, [0.75, 0.76, 0.77], lambda: 2),
            .. Seeds("mrpc", "q,v", 10, [0.74, 0.75, 0.76], lambda: 4),
        ];
        var sentence = Assert.Single(Findings.LambdaComparison(ResultsTable.Build(runs)));
        Assert.Contains("per task rte λ=4 (+3.06, p = 0.040), mrpc λ=1 (p after Holm's correction for the λ values each task " +
                        "compares with λ=1)", sentence);
    }

    [Fact]
    public void Shards_are_merged_and_an_identical_duplicate_is_read_once()
    {
        var runs = Known();
        string a = Path.Combine(_dir, "a"), b = Path.Combine(_dir, "b");
        SyntheticResults.WriteTo(a, runs.Take(8));
        SyntheticResults.WriteTo(b, runs.Skip(7));
        var loaded = Report.Load([a, b]);
        Assert.Equal(runs.Count, loaded.Count);
        Assert.Equal(runs.Select(r => r.Id).Order(), loaded.Select(r => r.Id).Order());
    }

    /// <summary>
    /// Overlapping shards made the same run twice: only timings and the machine differ, so it is one run. A run that
    /// failed in one directory and ended in another (a retry made there) is read as the one that ended, whichever
    /// directory comes first.
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_duplicate_that_differs_in_timings_or_failed_elsewhere_is_read_once(bool failedFirst)
    {
        var run = Known()[0];
        string a = Path.Combine(_dir, "a"), b = Path.Combine(_dir, "b"), c = Path.Combine(_dir, "c");
        SyntheticResults.WriteTo(a, [run]);
        SyntheticResults.WriteTo(b, [run with { SecondsPerStep = run.SecondsPerStep * 2, WallSeconds = 1234, Machine = "another host" }]);
        Assert.Single(Report.Load([a, b]));

        var failed = run with { Status = RunStatus.Failed, Error = "out of memory", Scores = new Dictionary<string, double>(), Headline = null };
        SyntheticResults.WriteTo(c, [failed]);
        var loaded = Assert.Single(Report.Load(failedFirst ? [c, a] : [a, c]));
        Assert.Equal(RunStatus.Completed, loaded.Status);
        Assert.Equal(run.Headline, loaded.Headline);
    }

    [Fact]
    public void Same_run_id_with_different_results_fails_naming_both_files()
    {
        var run = Known()[0];
        string a = Path.Combine(_dir, "a"), b = Path.Combine(_dir, "b");
        SyntheticResults.WriteTo(a, [run]);
        SyntheticResults.WriteTo(b, [run with { Headline = 0.9 }]);
        var e = Assert.Throws<InvalidDataException>(() => Report.Load([a, b]));
        Assert.Contains(run.Id, e.Message);
        Assert.Contains(Path.Combine(a, "runs", run.Id + ".json"), e.Message);
        Assert.Contains(Path.Combine(b, "runs", run.Id + ".json"), e.Message);
    }

    [Fact]
    public void Malformed_run_file_fails_naming_it()
    {
        SyntheticResults.WriteTo(_dir, Known().Take(2));
        var bad = Path.Combine(_dir, "runs", "broken.json");
        File.WriteAllText(bad, "{ \"id\": \"x\", \"settings\": ");
        var e = Assert.Throws<InvalidDataException>(() => Report.Load([_dir]));
        Assert.Contains(bad, e.Message);

        var left = new List<InvalidDataException>();
        Assert.Equal(2, Report.Load([_dir], left.Add).Count);
        Assert.Contains(bad, Assert.Single(left).Message);

        // A status no report heading counts ("cancelled") is refused at its file.
        File.Delete(bad);
        var odd = Path.Combine(_dir, "runs", "odd.json");
        File.WriteAllText(odd, RunRecordJson.Serialize(Known()[0] with { Id = "odd", Status = "cancelled" }));
        Assert.Contains($"{odd}: status \"cancelled\" is not one of completed, diverged, failed", Assert.Throws<InvalidDataException>(() => Report.Load([_dir])).Message);
    }

    /// <summary>Gradient checkpointing trades time for memory, so its runs are costed apart from the same configuration's.</summary>
    [Fact]
    public void Cost_rows_keep_gradient_checkpointing_apart()
    {
        List<RunRecord> runs =
        [
            .. Seeds("rte", "q,v", 10, [0.70]).Select(r => r with { SecondsPerStep = 1, PeakMemoryBytes = 4_000 }),
            .. Seeds("mrpc", "q,v", 10, [0.70]).Select(r => r with { SecondsPerStep = 3, PeakMemoryBytes = 1_000, GradientCheckpointing = true }),
        ];
        var costs = CostRow.Of(ResultsTable.Build(runs));
        Assert.Equal(2, costs.Count);
        Assert.Equal((1.0, 4_000L), (costs.Single(c => !c.Label.Contains("checkpointing")).SecondsPerStep, costs.Single(c => !c.Label.Contains("checkpointing")).PeakMemoryBytes));
        Assert.Equal(3.0, costs.Single(c => c.Label.EndsWith("(gradient checkpointing)", StringComparison.Ordinal)).SecondsPerStep);
    }

    /// <summary>
    /// The synthetic grid: 3 tasks → 3 parameter plots, 3 methods × 3 tasks λ sweeps and loss panels. Set
    /// EFT_REPORT_SAMPLE to a directory to keep the grid and the report there (to look at the page).
    /// </summary>
    [Fact]
    public void Html_is_self_contained_with_one_well_formed_svg_per_plot()
    {
        var keep = Environment.GetEnvironmentVariable("EFT_REPORT_SAMPLE");
        var dir = string.IsNullOrEmpty(keep) ? _dir : keep;
        var grid = SyntheticResults.Grid();
        SyntheticResults.WriteTo(dir, grid);
        var (md, html) = Report.Write(Report.Load([dir]), dir);
        var page = File.ReadAllText(html);

        Assert.DoesNotMatch("(?i)https?://", page);
        Assert.DoesNotContain("<script", page, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("<link", page, StringComparison.OrdinalIgnoreCase);
        var svgs = Regex.Matches(page, "<svg.*?</svg>", RegexOptions.Singleline).Select(m => m.Value).ToList();
        var tasks = SyntheticResults.Tasks.Length;
        Assert.Equal(tasks + SyntheticResults.Methods.Length * tasks * 2, svgs.Count);
        Assert.Equal(svgs.Count, Regex.Matches(page, "<svg").Count);
        foreach (var svg in svgs) Assert.Equal("svg", XDocument.Parse(svg).Root!.Name.LocalName);
        Assert.Contains("diverged 1/3", page);
        Assert.Contains("failed 1/3", page);
        Assert.Contains("out of memory allocating", File.ReadAllText(md));
        Assert.Equal(3 * 2 * 4, Regex.Matches(File.ReadAllText(md), @"^\| (Full FT|LoRA|DoRA) \|", RegexOptions.Multiline).Count);
    }
}
