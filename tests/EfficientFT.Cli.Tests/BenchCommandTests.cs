using System.Diagnostics;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using EfficientFT.Bench;
using EfficientFT.Bench.Tests;
using EfficientFT.Cli.Commands;

namespace EfficientFT.Cli.Tests;

/// <summary>`eft bench` as users run it: killed and rerun as a child process, and on GLUE TSVs with --model DIR.</summary>
[Collection("console")]
public sealed class BenchCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("eft-bench-cli-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>What the process wrote so far: its lines arrive on other threads, so the builder is read under its lock.</summary>
    private static string Text(System.Text.StringBuilder output)
    {
        lock (output) return output.ToString();
    }

    /// <summary>Starts the built eft (eft.dll beside the tests) with EFT_ASSETS set; output is collected.</summary>
    private static Process StartEft(string assets, System.Text.StringBuilder output, params string[] args)
    {
        var info = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet")
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        info.ArgumentList.Add("exec");
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "eft.dll"));
        foreach (var a in args) info.ArgumentList.Add(a);
        info.Environment["EFT_ASSETS"] = assets;
        var process = Process.Start(info)!;
        process.OutputDataReceived += (_, e) => { lock (output) output.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { lock (output) output.AppendLine(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    [Fact]
    public void Killed_and_rerun_every_run_has_exactly_one_whole_result_and_none_is_made_twice()
    {
        var assets = TinyBench.CreateAssets(_dir);
        var spec = Path.Combine(_dir, "kill.yaml");
        File.WriteAllText(spec, """
            defaults: { tasks: toy, max_steps: 40, batch_size: 8, max_length: 24, seeds: [1, 2], checkpoint_every: 10 }
            grids:
              - { methods: [lora, full_ft], targets: ["q,v", "q,k,v"] }
            """);
        var results = Path.Combine(_dir, "results");
        var runs = Path.Combine(results, "runs");
        var ids = BenchSpec.Load(spec).Expand().Runs.Select(r => r.Id).ToList();
        Assert.Equal(8, ids.Count);

        var output = new System.Text.StringBuilder();
        using (var first = StartEft(assets, output, "bench", spec, "--results", results))
        {
            var clock = Stopwatch.StartNew();
            while (!first.HasExited && (!Directory.Exists(runs) || Directory.GetFiles(runs, "*.json").Length < 2) && clock.Elapsed < TimeSpan.FromSeconds(60))
                Thread.Sleep(10);
            Assert.False(first.HasExited, $"the grid ended before it could be killed:\n{Text(output)}");
            first.Kill(entireProcessTree: true);
            first.WaitForExit();
        }
        var before = Directory.GetFiles(runs, "*.json").Select(f => RunRecordJson.Read(f).Id).ToHashSet();
        Assert.InRange(before.Count, 2, ids.Count - 1);
        Assert.All(Directory.GetFiles(runs), f => Assert.True(f.EndsWith(".json") || f.EndsWith(".tmp"), f));

        output.Clear();
        using (var second = StartEft(assets, output, "bench", spec, "--results", results))
        {
            Assert.True(second.WaitForExit(120_000), Text(output));
            second.WaitForExit();
            Assert.True(second.ExitCode == 0, Text(output));
        }
        Assert.Contains($"{before.Count} finished run(s) skipped", Text(output));
        var after = Directory.GetFiles(runs).Select(RunRecordJson.Read).ToList();
        Assert.Equal(ids.Order(), after.Select(r => r.Id).Order());
        Assert.All(after, r => Assert.Equal(RunStatus.Completed, r.Status));
        Assert.All(after, r => Assert.Equal(40, r.Losses.Count));
        Assert.False(Directory.Exists(Path.Combine(results, "work")) && Directory.EnumerateFileSystemEntries(Path.Combine(results, "work")).Any());
        var starts = File.ReadAllLines(Path.Combine(results, "events.jsonl")).Select(l => JsonNode.Parse(l)!)
            .Where(e => e["event"]!.GetValue<string>() == "start").GroupBy(e => e["id"]!.GetValue<string>()).ToDictionary(g => g.Key, g => g.Count());
        Assert.All(before, id => Assert.Equal(1, starts[id]));
        Assert.Equal(File.ReadAllText(spec), File.ReadAllText(Path.Combine(results, "spec.yaml")));
    }

    [Fact]
    public void Jobs_split_the_grid_across_worker_processes_and_each_run_is_made_once()
    {
        var assets = TinyBench.CreateAssets(_dir);
        var spec = Path.Combine(_dir, "jobs.yaml");
        File.WriteAllText(spec, """
            jobs: 2
            defaults: { tasks: toy, max_steps: 10, batch_size: 8, max_length: 24, seeds: [1, 2] }
            grids:
              - { methods: [lora, full_ft], targets: ["q,v", "q,k,v"] }
            """);
        var results = Path.Combine(_dir, "jobs-results");
        var output = new System.Text.StringBuilder();
        using (var bench = StartEft(assets, output, "bench", spec, "--results", results))
        {
            Assert.True(bench.WaitForExit(120_000), Text(output));
            bench.WaitForExit();
            Assert.True(bench.ExitCode == 0, Text(output));
        }
        var ids = BenchSpec.Load(spec).Expand().Runs.Select(r => r.Id).Order().ToList();
        Assert.Equal(ids, new ResultsStore(results).ReadAll().Select(r => r.Id).Order());
        var starts = File.ReadAllLines(Path.Combine(results, "events.jsonl")).Select(l => JsonNode.Parse(l)!)
            .Where(e => e["event"]!.GetValue<string>() == "start").ToList();
        Assert.Equal(ids, starts.Select(e => e["id"]!.GetValue<string>()).Order());
        Assert.Equal(2, starts.Select(e => e["pid"]!.GetValue<int>()).Distinct().Count());
        Assert.True(File.Exists(Path.Combine(results, "report.html")), Text(output));
    }

    [Fact]
    public void Workers_stop_when_their_parent_is_killed()
    {
        var assets = TinyBench.CreateAssets(_dir);
        var spec = Path.Combine(_dir, "orphans.yaml");
        File.WriteAllText(spec, """
            jobs: 2
            defaults: { tasks: toy, max_steps: 50000, batch_size: 8, max_length: 24, seeds: [1, 2, 3] }
            grids:
              - { methods: [lora, full_ft], targets: ["q,v", "q,k,v"] }
            """);
        var results = Path.Combine(_dir, "orphan-results");
        var events = Path.Combine(results, "events.jsonl");
        var output = new System.Text.StringBuilder();
        List<int> workers;
        using (var bench = StartEft(assets, output, "bench", spec, "--results", results))
        {
            var clock = Stopwatch.StartNew();
            List<int> Pids() => File.Exists(events)
                ? File.ReadAllLines(events).Select(l => JsonNode.Parse(l)!["pid"]!.GetValue<int>()).Distinct().ToList()
                : [];
            while (Pids().Count < 2 && !bench.HasExited && clock.Elapsed < TimeSpan.FromSeconds(60)) Thread.Sleep(20);
            workers = Pids();
            Assert.True(workers.Count == 2, Text(output));
            bench.Kill(entireProcessTree: false);
            // With a timeout: the parameterless wait also waits for the redirected output to close, which workers
            // holding the inherited stderr would delay until they end.
            Assert.True(bench.WaitForExit(10_000));
        }
        bool Alive(int pid)
        {
            try
            {
                using var p = Process.GetProcessById(pid);
                return !p.HasExited;
            }
            catch (ArgumentException)
            {
                return false;
            }
        }
        var wait = Stopwatch.StartNew();
        while (workers.Any(Alive) && wait.Elapsed < TimeSpan.FromSeconds(10)) Thread.Sleep(50);
        Assert.False(workers.Any(Alive), "a worker kept running after its parent was killed");
        Assert.All(Directory.GetFiles(Path.Combine(results, "runs")), f => RunRecordJson.Read(f));
    }

    /// <summary>`eft bench --preset quick` in-process on the tiny model and GLUE TSVs; its exit code and what it printed.</summary>
    private (int Code, string Output) QuickBenchOnGlue(string tasks, string results, bool terminal, int jobs = 1, params string[] more)
    {
        TinyBench.CreateAssets(_dir);
        var glue = TinyBench.CreateGlue(_dir);
        using var capture = new ConsoleCapture(terminal);
        var code = EftCommand.Create().Parse([
            "bench", "--preset", "quick", "--model", Path.Combine(_dir, "assets", "model"), "--glue-dir", glue,
            "--tasks", tasks, "--results", results, "--jobs", jobs.ToString(System.Globalization.CultureInfo.InvariantCulture), .. more]).Invoke();
        return (code, capture.Text.ToString());
    }

    /// <summary>A shard is made in one process: --jobs beside it has no effect, and says so instead of being dropped.</summary>
    [Fact]
    public void Jobs_beside_a_shard_are_said_not_to_apply()
    {
        using var error = new ErrorCapture();
        var (code, output) = QuickBenchOnGlue("rte", Path.Combine(_dir, "shard-results"), terminal: false, jobs: 2, "--shard", "0/8");
        Assert.True(code == 0, output + error);
        Assert.Contains("--shard makes its runs in this one process, so --jobs 2 does not apply", error.ToString());
    }

    [Fact]
    public void Runs_on_glue_tsvs_with_a_model_directory()
    {
        var results = Path.Combine(_dir, "glue-results");
        var (code, output) = QuickBenchOnGlue("rte,stsb", results, terminal: false);
        Assert.True(code == 0, output);
        var records = new ResultsStore(results).ReadAll();
        Assert.Equal(16, records.Count);
        Assert.All(records, r => Assert.Equal(RunStatus.Completed, r.Status));
        Assert.Equal(["accuracy", "pearson"], records.Select(r => r.HeadlineMetric!).Distinct().Order());
        Assert.Contains("rte (accuracy)", output);
    }

    /// <summary>
    /// What a terminal shows (checked by hand before): the grid's and the current run's progress bars, the run's
    /// step and loss in its description, and a line per finished run above them; and the grid still records every run.
    /// The display refreshes on a timer, so the checks hold for the final frame whatever the machine's speed.
    /// </summary>
    [Fact]
    public void On_a_terminal_the_grid_shows_progress_for_the_grid_and_the_current_run()
    {
        var results = Path.Combine(_dir, "progress-results");
        ConsoleRun.InteractiveOverride = true;
        int code;
        string text;
        try
        {
            (code, text) = QuickBenchOnGlue("rte", results, terminal: true);
        }
        finally
        {
            ConsoleRun.InteractiveOverride = null;
        }
        Assert.True(code == 0, text);
        Assert.Contains("grid (0 skipped)", text);
        // Fast runs can finish between two refreshes, so only the final frame is certain: the last run at its last step.
        Assert.Matches(@"8/8 rte \S.* seed \d+ · step (\d+)/\1 · loss \d+\.\d{4}", text);
        Assert.Matches(@"8/8 rte-\S+ completed accuracy=\d+\.\d\d", text);
        Assert.Contains("100%", text);
        Assert.Equal(8, new ResultsStore(results).ReadAll().Count(r => r.Status == RunStatus.Completed));
    }

    /// <summary>
    /// With jobs the parent draws one bar for the grid and prints each worker's finished runs above it, tagged with
    /// the worker's number. The workers are the built eft started as processes, as a user's would be; the parent
    /// runs in-process so its terminal can be recorded.
    /// </summary>
    [Fact]
    public void On_a_terminal_jobs_show_the_grid_and_each_workers_finished_runs()
    {
        var results = Path.Combine(_dir, "jobs-progress-results");
        var host = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } path ? path : "dotnet";
        ConsoleRun.InteractiveOverride = true;
        BenchJobs.WorkerCommandOverride = (host, ["exec", Path.Combine(AppContext.BaseDirectory, "eft.dll")]);
        int code;
        string text;
        try
        {
            (code, text) = QuickBenchOnGlue("rte", results, terminal: true, jobs: 2);
        }
        finally
        {
            ConsoleRun.InteractiveOverride = null;
            BenchJobs.WorkerCommandOverride = null;
        }
        Assert.True(code == 0, text);
        Assert.Contains("8 run(s) to make of 8, 2 at once with 1 engine thread(s) each", text);
        Assert.Matches(@"grid \(2 jobs\).*100%", text);
        // Each worker takes half the grid, and each of its finished runs comes through once, tagged with the worker.
        foreach (var worker in new[] { "[0]", "[1]" })
            Assert.Equal(4, Regex.Matches(text, $@"{Regex.Escape(worker)} \d/8 rte-\S+ completed accuracy=\d+\.\d\d").Count);
        Assert.Equal(8, new ResultsStore(results).ReadAll().Count(r => r.Status == RunStatus.Completed));
    }

    [Fact]
    public void A_missing_task_fails_before_any_run()
    {
        var assets = TinyBench.CreateAssets(_dir);
        var spec = Path.Combine(_dir, "bad.yaml");
        File.WriteAllText(spec, "defaults:\n  max_steps: 2\ngrids:\n  - methods: lora\n    tasks: [toy, nosuch]\n");
        var output = new System.Text.StringBuilder();
        using var process = StartEft(assets, output, "bench", spec, "--results", Path.Combine(_dir, "r"));
        Assert.True(process.WaitForExit(60_000));
        process.WaitForExit();
        Assert.Equal(2, process.ExitCode);
        Assert.Matches($@"{spec}:5:\d+: tasks: unknown task 'nosuch'", Text(output));
        Assert.False(Directory.Exists(Path.Combine(_dir, "r", "runs")) && Directory.EnumerateFiles(Path.Combine(_dir, "r", "runs")).Any());
    }
}
