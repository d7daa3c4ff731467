using System.Diagnostics;
using System.Globalization;
using Spectre.Console;

namespace EfficientFT.Cli.Commands;

/// <summary>
/// Runs a grid as <c>jobs</c> worker processes of this same program, worker i taking shard i/jobs of the results
/// directory with cores/jobs engine threads. Each worker records its runs as a lone `eft bench --shard` would, so
/// killing everything at any moment loses no finished run, and a rerun resumes as usual.
/// </summary>
internal static class BenchJobs
{
    /// <param name="arguments">The bench command line without shard, jobs and worker options.</param>
    /// <param name="cancellation">Stops the workers after their current step, as the parent's end would.</param>
    /// <returns>
    /// The most serious worker exit code: 130 (cancelled), then 2 (bad input), then 1 (a run failed), then 75 (runs left
    /// to another process), else 0.
    /// </returns>
    public static int Run(int jobs, string root, int total, int todo, IReadOnlyList<string> arguments, CancellationToken cancellation)
    {
        var threads = Math.Max(1, Environment.ProcessorCount / jobs);
        Console.WriteLine($"{root}: {todo} run(s) to make of {total}, {jobs} at once with {threads} engine thread(s) each");
        var workers = Enumerable.Range(0, jobs).Select(i => Start(arguments, i, jobs, threads)).ToList();
        // A Ctrl+C at a terminal reaches the workers itself; a signal sent to this process alone does not, and closing
        // their stdin tells them.
        var stop = cancellation.Register(() =>
        {
            foreach (var w in workers)
            {
                try
                {
                    w.StandardInput.Close();
                }
                catch (Exception e) when (e is IOException or InvalidOperationException)
                {
                    // The worker has ended already, and has nothing to be told.
                }
            }
        });
        try
        {
            if (ConsoleRun.Interactive)
                AnsiConsole.Progress()
                    .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn())
                    .Start(ctx =>
                    {
                        var grid = ctx.AddTask($"grid ({jobs} jobs)", maxValue: Math.Max(todo, 1));
                        Forward(workers, line =>
                        {
                            grid.Increment(1);
                            AnsiConsole.MarkupLine(Markup.Escape(line));
                        });
                    });
            else
                Forward(workers, Console.WriteLine);
            foreach (var w in workers) w.WaitForExit();
        }
        finally
        {
            // Before the workers are disposed: a Ctrl+C from here on has no worker to tell.
            stop.Dispose();
            // A parent stopped by an exception must not leave workers training behind it.
            foreach (var w in workers.Where(w => !w.HasExited)) w.Kill(entireProcessTree: true);
        }
        var codes = workers.Select(w => w.ExitCode).ToList();
        foreach (var w in workers) w.Dispose();
        return codes.Contains(130) ? 130 : codes.Contains(2) ? 2 : codes.Any(c => c is not (0 or BenchCommand.LeftToAnotherProcess)) ? 1
            : codes.Contains(BenchCommand.LeftToAnotherProcess) ? BenchCommand.LeftToAnotherProcess : 0;
    }

    /// <summary>
    /// The program and leading arguments that start a worker, for tests, whose own process is the test host:
    /// null starts this program again.
    /// </summary>
    internal static (string Program, string[] Prefix)? WorkerCommandOverride { get; set; }

    private static Process Start(IReadOnlyList<string> arguments, int index, int jobs, int threads)
    {
        var (program, prefix) = WorkerCommandOverride ?? ThisProgram();
        // The worker's stdin is a pipe only the parent holds: it closes when the parent ends in any way (kill -9
        // included), which is how a worker knows to stop rather than train on unwatched.
        var info = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardInput = true, UseShellExecute = false };
        foreach (var a in prefix) info.ArgumentList.Add(a);
        foreach (var a in arguments) info.ArgumentList.Add(a);
        foreach (var a in new[] { "--shard", string.Create(CultureInfo.InvariantCulture, $"{index}/{jobs}"), "--jobs", "1", "--worker" })
            info.ArgumentList.Add(a);
        info.Environment["EFT_THREADS"] = threads.ToString(CultureInfo.InvariantCulture);
        return Process.Start(info) ?? throw new InvalidOperationException($"could not start worker {index}.");
    }

    private static (string Program, string[] Prefix) ThisProgram()
    {
        var self = Environment.ProcessPath ?? throw new InvalidOperationException("cannot find this program to start workers.");
        // Run through `dotnet eft.dll`, the program is the dll, not the host.
        return (self, Path.GetFileNameWithoutExtension(self) == "dotnet" ? [Environment.GetCommandLineArgs()[0]] : []);
    }

    /// <summary>
    /// In a worker: cancels the grid (after the current step; the unfinished run leaves no record) once the parent's
    /// end of stdin closes, so that a rerun never races an orphaned worker over the same run.
    /// </summary>
    public static void StopWhenParentGoes(CancellationTokenSource cancel) =>
        new Thread(() =>
        {
            while (Console.In.Read() >= 0)
            {
            }
            cancel.Cancel();
        }) { IsBackground = true, Name = "eft-parent-watch" }.Start();

    /// <summary>Passes on each worker's lines about finished runs as they come (their stderr goes straight through).</summary>
    private static void Forward(IReadOnlyList<Process> workers, Action<string> finishedRun)
    {
        var gate = new object();
        var readers = workers.Select((w, i) => Task.Run(() =>
        {
            while (w.StandardOutput.ReadLine() is { } line)
            {
                // A worker's own closing line ("…: N run(s) made …") only matters to the parent's summary.
                if (line.Contains(" run(s) made, ", StringComparison.Ordinal)) continue;
                lock (gate) finishedRun($"[{i}] {line}");
            }
        })).ToArray();
        Task.WaitAll(readers);
    }
}
