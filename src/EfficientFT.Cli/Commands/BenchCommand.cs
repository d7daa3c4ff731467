using System.CommandLine;
using System.Globalization;
using EfficientFT.Bench;
using EfficientFT.Bench.Reporting;
using Spectre.Console;

namespace EfficientFT.Cli.Commands;

/// <summary>
/// `bench`: expands a benchmark spec (a YAML file, or a preset) into runs and makes those of this shard that have no
/// result yet, one result file per run under RESULTS/runs; `bench merge` unions results directories.
/// </summary>
public static class BenchCommand
{
    public static Command Create()
    {
        var spec = new Argument<string?>("spec") { Description = "Spec YAML (see BenchSpec); none runs --preset.", Arity = ArgumentArity.ZeroOrOne };
        var preset = new Option<string?>("--preset") { Description = $"A built-in spec: {string.Join(", ", BenchSpec.PresetNames)} (default: default)." };
        var results = new Option<string?>("--results") { Description = "Results directory (default: results/<spec name>)." };
        var shard = new Option<string?>("--shard") { Description = "i/n: only runs whose index ≡ i (mod n); i is 0-based (Slurm: $SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT)." };
        var model = new Option<string?>("--model") { Description = "Replace every model of the spec: a directory, a repository id in the Hugging Face cache, or embedded." };
        var tasks = new Option<string?>("--tasks") { Description = "Run these tasks (comma-separated), e.g. cola,rte with --glue-dir: they replace the defaults' task list, and a block with tasks of its own runs those of them named here." };
        var glueDir = new Option<string?>("--glue-dir") { Description = "GLUE data in the original layout (CoLA/train.tsv, dev.tsv, …); makes GLUE task names resolve." };
        var dryRun = new Option<bool>("--dry-run") { Description = "List the runs and their ids; run nothing." };
        var jobs = new Option<int?>("--jobs") { Description = "Runs at once, each a process with an equal share of the cores (default: the spec's jobs, else 1)." };
        var retryFailed = new Option<bool>("--retry-failed") { Description = "Make the runs recorded as failed again, from their newest checkpoint (diverged runs stay as they are)." };
        // Set by a parent bench on its worker processes: the parent writes the summary and the report once.
        var worker = new Option<bool>("--worker") { Hidden = true };
        var command = new Command("bench", "Run a benchmark grid (methods × targets × λ × tasks × seeds) and record one result per run.")
        {
            spec, preset, results, shard, model, tasks, glueDir, dryRun, jobs, retryFailed, worker,
        };
        command.Subcommands.Add(CreateMerge());
        command.SetAction(r => CommandErrors.Run(() =>
        {
            try
            {
                return Run(r.GetValue(spec), r.GetValue(preset), r.GetValue(results), r.GetValue(shard), r.GetValue(model),
                    r.GetValue(tasks), r.GetValue(glueDir), r.GetValue(dryRun), r.GetValue(jobs), r.GetValue(retryFailed), r.GetValue(worker));
            }
            catch (SpecException e)
            {
                Console.Error.WriteLine($"eft: error: {e.Message}");
                return 2;
            }
        }));
        return command;
    }

    private static Command CreateMerge()
    {
        var output = new Argument<string>("out") { Description = "Results directory to merge into (created if missing)." };
        var inputs = new Argument<string[]>("dirs") { Description = "Results directories (e.g. one per shard).", Arity = ArgumentArity.OneOrMore };
        var merge = new Command("merge", "Union the runs of several results directories; runs with the same id but another outcome are refused.") { output, inputs };
        merge.SetAction(r => CommandErrors.Run(() =>
        {
            var outcome = ResultsMerge.Merge(r.GetValue(output)!, r.GetValue(inputs)!);
            if (outcome.Conflicts.Count > 0)
            {
                Console.Error.WriteLine($"eft: error: {outcome.Conflicts.Count} run(s) differ between directories; nothing merged:");
                foreach (var conflict in outcome.Conflicts) Console.Error.WriteLine($"  {conflict}");
                return 1;
            }
            Console.WriteLine($"merged into {r.GetValue(output)}: {outcome.Copied} run(s) copied, {outcome.AlreadyThere} duplicate(s) with the same outcome kept once");
            return 0;
        }));
        return merge;
    }

    private static int Run(string? specPath, string? preset, string? resultsDir, string? shardText, string? model, string? taskList,
        string? glueDir, bool dryRun, int? jobCount, bool retryFailed, bool worker)
    {
        if (jobCount is < 1) throw new ArgumentException($"--jobs {jobCount} must be at least 1.");
        if (specPath != null && preset != null) throw new ArgumentException("Give a spec file or --preset, not both.");
        var spec = specPath != null ? BenchSpec.Load(specPath) : BenchSpec.Preset(preset ?? "default");
        var tasks = taskList?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var plan = spec.Expand(model, tasks is { Length: > 0 } ? tasks : null);
        var shard = shardText != null ? Shard.Parse(shardText) : Shard.All;
        var root = resultsDir ?? Path.Combine("results", spec.Name);
        var mine = plan.Runs.Where(p => shard.Contains(p.Index)).ToList();

        if (dryRun)
        {
            var statuses = Directory.Exists(Path.Combine(root, "runs")) ? new ResultsStore(root).Statuses() : [];
            Console.WriteLine($"{spec.Source}: {plan.Runs.Count} runs ({plan.DuplicatesRemoved} duplicates removed), shard {shard}: {mine.Count}");
            foreach (var p in mine)
            {
                var state = statuses.GetValueOrDefault(p.Id) switch
                {
                    null => "todo",
                    RunStatus.Failed => retryFailed ? "todo" : "failed",
                    _ => "done",
                };
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{p.Index,5}  {p.Id}  {state}  model={p.Settings.Model} lr={p.Settings.LearningRate:G4}"));
            }
            return 0;
        }

        var catalog = new TaskCatalog(BenchEnvironment.AssetsDirectory, glueDir);
        var runner = new BenchRunner(catalog);
        BenchGrid.Validate(plan, catalog, runner);
        var store = new ResultsStore(root);
        store.SaveSpec(spec.Text);
        if (plan.DuplicatesRemoved > 0 && !worker)
            Console.Error.WriteLine($"eft: note: {plan.DuplicatesRemoved} of the spec's combinations are the same run as another (they differ only in settings those runs do not read, or in how a run is made), so {plan.Runs.Count} runs are made; --dry-run lists them.");
        var jobs = Math.Min(jobCount ?? spec.Jobs, Math.Max(1, mine.Count));
        if ((jobCount ?? spec.Jobs) > 1 && shardText != null && !worker)
            Console.Error.WriteLine($"eft: note: --shard makes its runs in this one process, so {(jobCount != null ? "--jobs" : "the spec's jobs")} {jobCount ?? spec.Jobs} does not apply; run shards side by side for that.");
        // Ctrl+C reaches the workers too (one process group); each stops after its current step, and this process
        // waits for them and sums up what was recorded instead of ending at once.
        using var ctrlC = new ConsoleRun.CtrlC();
        if (jobs > 1 && shardText == null)
        {
            var finished = store.FinishedIds(retryFailed);
            var code = BenchJobs.Run(jobs, root, plan.Runs.Count, mine.Count(p => !finished.Contains(p.Id)),
                ["bench", .. specPath != null ? [specPath] : (string[])["--preset", preset ?? "default"], "--results", root,
                 .. model != null ? ["--model", model] : Array.Empty<string>(), .. taskList != null ? ["--tasks", taskList] : Array.Empty<string>(),
                 .. glueDir != null ? ["--glue-dir", glueDir] : Array.Empty<string>(), .. retryFailed ? ["--retry-failed"] : Array.Empty<string>()],
                ctrlC.Token);
            return Finish(store, plan, store.Read(mine.Select(p => p.Id)), code == 130, worker) ?? code;
        }

        // The first Ctrl+C stops after the current step (no record for the unfinished run); a second kills.
        using var parentGone = new CancellationTokenSource();
        if (worker) BenchJobs.StopWhenParentGoes(parentGone);
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(ctrlC.Token, parentGone.Token);
        var outcome = ConsoleRun.Interactive ? RunWithProgress(plan, shard, store, runner, mine, retryFailed, cancel.Token)
            : RunPlain(plan, shard, store, runner, retryFailed, cancel.Token);

        Console.WriteLine($"{store.Root}: {outcome.Ran} run(s) made, {outcome.Skipped} finished run(s) skipped, {outcome.Records.Count}/{outcome.Runs} recorded{(outcome.Cancelled ? " (cancelled)" : "")}{(outcome.Busy > 0 ? $"; {outcome.Busy} being made by another process now (run again once it ends to sum them up)" : "")}");
        return Finish(store, plan, outcome.Records, outcome.Cancelled, worker)
               ?? (outcome.Records.Any(r => r.Status == RunStatus.Failed) ? 1 : outcome.Busy > 0 ? LeftToAnotherProcess : 0);
    }

    /// <summary>
    /// The exit code when runs were left to another process making them (sysexits' EX_TEMPFAIL): the grid is not
    /// complete yet, though nothing failed, and a script should run it again once the other process ends.
    /// </summary>
    internal const int LeftToAnotherProcess = 75;

    /// <summary>The summary table and the report (not for a worker: its parent writes them once); 130 when cancelled.</summary>
    private static int? Finish(ResultsStore store, BenchPlan plan, IReadOnlyList<RunRecord> records, bool cancelled, bool worker)
    {
        if (worker) return cancelled ? 130 : null;
        Summary(records);
        if (records.Count(r => r.Status == RunStatus.Failed) is var failures and > 0)
            Console.Error.WriteLine($"eft: {failures} run(s) failed (see their errors above and in {store.RunsDirectory}); run the same command with --retry-failed to make them again from their newest checkpoint.");
        // The report covers every run in the directory, other specs' too; one of theirs that does not read is left out
        // with a warning rather than costing this grid its report.
        if (!cancelled && store.ReadAll(e => Console.Error.WriteLine($"eft: warning: {e.Message} Left out of the report.")) is { Count: > 0 } recorded)
        {
            var asked = plan.Runs.Select(r => r.Id).ToHashSet(StringComparer.Ordinal);
            if (recorded.Count(r => !asked.Contains(r.Id)) is var others and > 0)
                Console.Error.WriteLine($"eft: note: the report also covers {others} run(s) in {store.Root} that this grid does not ask for (an earlier spec's); a fresh --results directory keeps them apart.");
            var (markdown, html) = Report.Write(recorded, store.Root);
            Console.WriteLine($"report: {html} ({markdown})");
        }
        return cancelled ? 130 : null;
    }

    private static GridOutcome RunPlain(BenchPlan plan, Shard shard, ResultsStore store, BenchRunner runner, bool retryFailed, CancellationToken cancel)
    {
        return BenchGrid.Run(plan, shard, store, runner, null,
            (run, record) => Console.WriteLine(FinishedLine(run, plan.Runs.Count, record)),
            cancel, retryFailed);
    }

    private static GridOutcome RunWithProgress(BenchPlan plan, Shard shard, ResultsStore store, BenchRunner runner, IReadOnlyList<RunPlan> mine,
        bool retryFailed, CancellationToken cancel)
    {
        GridOutcome? outcome = null;
        AnsiConsole.Progress()
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn())
            .Start(ctx =>
            {
                var done = store.FinishedIds(retryFailed);
                var skipped = mine.Count(r => done.Contains(r.Id));
                var grid = ctx.AddTask($"grid ({skipped} skipped)", maxValue: Math.Max(mine.Count, 1));
                grid.Value = skipped;
                var current = ctx.AddTask("run", maxValue: 1);
                var label = "";
                runner.StepCompleted = (step, total, loss) =>
                {
                    current.MaxValue = total;
                    current.Value = step;
                    current.Description = Markup.Escape(string.Create(CultureInfo.InvariantCulture, $"{label} · step {step}/{total} · loss {loss:F4}"));
                };
                outcome = BenchGrid.Run(plan, shard, store, runner,
                    run =>
                    {
                        current.Value = 0;
                        label = $"{run.Index + 1}/{plan.Runs.Count} {run.Settings.Task} {ConfigKey.Of(run.Settings).Label()} seed {run.Settings.Seed}";
                        current.Description = Markup.Escape(label);
                    },
                    (run, record) =>
                    {
                        grid.Increment(1);
                        AnsiConsole.MarkupLine(Markup.Escape(FinishedLine(run, plan.Runs.Count, record)));
                    },
                    cancel, retryFailed);
                runner.StepCompleted = null;
            });
        return outcome!;
    }

    /// <summary>"3/84 ID completed accuracy=85.25 0.180 s/step (error)": one finished run, headline ×100.</summary>
    private static string FinishedLine(RunPlan run, int total, RunRecord record) => string.Create(CultureInfo.InvariantCulture,
        $"{run.Index + 1}/{total} {record.Id} {record.Status} {record.HeadlineMetric}={(record.Headline is { } h ? Format.Score(100 * h) : "-")} {record.SecondsPerStep:F3} s/step{(record.Error != null ? $" ({record.Error})" : "")}");

    /// <summary>The report's Table-2 table on the console: a row per configuration, a column per task (headline ×100, mean ± std over seeds).</summary>
    private static void Summary(IReadOnlyList<RunRecord> records)
    {
        if (records.Count == 0) return;
        var results = ResultsTable.Build(records);
        var table = new Table().Border(TableBorder.Rounded).AddColumn("configuration").AddColumn(new TableColumn("trainable").RightAligned());
        foreach (var task in results.Tasks)
            table.AddColumn(new TableColumn(Markup.Escape($"{task} ({results.Metrics[task]})")).RightAligned());
        table.AddColumn(new TableColumn("avg").RightAligned());
        foreach (var row in results.Rows)
            table.AddRow(results.Tasks.Select(t => Markup.Escape(row.Cells[t].Text(results.Seeds)))
                .Prepend(Format.Count(row.TrainableParameters)).Prepend(Markup.Escape(results.Label(row.Key)))
                .Append(row.Average is { } average ? Format.Score(average) : "—").ToArray());
        AnsiConsole.Write(table);
    }
}
