using System.CommandLine;
using EfficientFT.Bench.Reporting;

namespace EfficientFT.Cli.Commands;

/// <summary>
/// `report RESULTS... [--out DIR]`: the results table, findings, plots and costs of finished benchmark runs, as
/// report.md and a self-contained report.html. Several results directories are shards of one grid and are merged.
/// </summary>
public static class ReportCommand
{
    public static Command Create()
    {
        var results = new Argument<string[]>("RESULTS") { Description = "Results directories (each with runs/*.json); several are merged.", Arity = ArgumentArity.OneOrMore };
        var output = new Option<string?>("--out") { Description = "Directory for report.md and report.html (default: the first RESULTS directory)." };
        var command = new Command("report", "Summarize benchmark runs into report.md and a self-contained report.html.") { results, output };
        command.SetAction(r => CommandErrors.Run(() =>
        {
            var dirs = r.GetValue(results)!;
            // As `eft bench` does: one damaged file (another spec's, an older format) costs its run, not the report.
            var runs = Report.Load(dirs, e => Console.Error.WriteLine($"eft: warning: {e.Message} Left out of the report."));
            var (md, html) = Report.Write(runs, r.GetValue(output) ?? dirs[0]);
            Console.WriteLine($"{runs.Count} runs from {dirs.Length} director{(dirs.Length == 1 ? "y" : "ies")}; wrote {md} and {html}");
            return 0;
        }));
        return command;
    }
}
