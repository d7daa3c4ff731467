using System.CommandLine;
using System.IO.Enumeration;
using EfficientFT.Bench.Reporting;
using EfficientFT.Models.Hub;
using Spectre.Console;

namespace EfficientFT.Cli.Commands;

/// <summary>
/// `download`: a model's files from the Hugging Face Hub into the standard cache (HF_HUB_CACHE / HF_HOME / default),
/// honouring HF_TOKEN, HF_ENDPOINT and HF_HUB_OFFLINE; prints the snapshot directory other commands accept.
/// </summary>
public static class DownloadCommand
{
    /// <summary>What fine-tuning needs by default: weights in safetensors, configs and tokenizer files.</summary>
    private static readonly string[] DefaultPatterns =
        ["*.safetensors", "model.safetensors.index.json", "*.json", "merges.txt", "vocab.txt", "*.model"];

    public static Command Create()
    {
        var repo = new Argument<string>("repo") { Description = "Repository id, org/name or a canonical name (optionally @revision)." };
        var revision = new Option<string?>("--revision") { Description = "Branch, tag or commit (default main)." };
        var include = new Option<string[]>("--include") { Description = "Glob patterns of files to fetch (default: safetensors weights, JSON configs, tokenizer files).", AllowMultipleArgumentsPerToken = true };
        var command = new Command("download", "Download a model from the Hugging Face Hub into the local cache.") { repo, revision, include };
        command.SetAction(r => CommandErrors.Run(() =>
        {
            var (repoId, rev) = ModelLocation.Split(r.GetValue(repo)!);
            rev = r.GetValue(revision) ?? rev;
            var given = r.GetValue(include) is { Length: > 0 } p ? p : null;
            var patterns = given ?? DefaultPatterns;
            bool Wanted(string file) => patterns.Any(pattern => FileSystemName.MatchesSimpleExpression(pattern, Path.GetFileName(file)));
            using var client = new HubClient(HubSettings.FromEnvironment());
            var snapshot = WithProgress(client, () => client.DownloadSnapshotAsync(repoId, rev, Wanted).GetAwaiter().GetResult());
            // A snapshot without what was asked for would only fail later, in the command that reads it.
            var files = Directory.EnumerateFiles(snapshot, "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(snapshot, f)).ToList();
            if (!files.Any(Wanted))
                throw new HubException(HubErrorKind.NotFound, $"no file of {repoId} at '{rev}' matches {string.Join(", ", patterns)}.");
            if (given == null && !files.Any(f => f.EndsWith(".safetensors", StringComparison.Ordinal)))
                throw new HubException(HubErrorKind.NotFound,
                    $"{repoId} at '{rev}' has no safetensors weights, the only format eft reads (a pytorch_model.bin converts with transformers' save_pretrained(safe_serialization=True)); {snapshot} holds the rest.");
            Console.WriteLine(snapshot);
            return 0;
        }));
        return command;
    }

    /// <summary>A bar per file on a terminal; otherwise a line as each file starts.</summary>
    private static string WithProgress(HubClient client, Func<string> download)
    {
        if (!ConsoleRun.Interactive)
        {
            var started = new HashSet<string>();
            client.Progress = new SynchronousProgress(t =>
            {
                if (started.Add(t.What))
                    Console.Error.WriteLine($"downloading {t.What}{(t.Total is { } total ? $" ({Format.Bytes(total)})" : "")}");
            });
            return download();
        }
        string? snapshot = null;
        AnsiConsole.Progress()
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new DownloadedColumn(), new TransferSpeedColumn(), new RemainingTimeColumn())
            .Start(ctx =>
            {
                var tasks = new Dictionary<string, ProgressTask>();
                client.Progress = new SynchronousProgress(t =>
                {
                    if (!tasks.TryGetValue(t.What, out var task))
                        tasks[t.What] = task = ctx.AddTask(Markup.Escape(t.What), maxValue: t.Total ?? 1);
                    // Without a size from the Hub the bar cannot say how far it is.
                    task.IsIndeterminate = t.Total == null;
                    task.MaxValue = t.Total ?? Math.Max(t.Bytes, 1);
                    task.Value = t.Bytes;
                });
                snapshot = download();
            });
        return snapshot!;
    }

    /// <summary>Reports on the caller's thread, in order: Progress&lt;T&gt; would post them to the thread pool.</summary>
    private sealed class SynchronousProgress(Action<HubTransfer> report) : IProgress<HubTransfer>
    {
        public void Report(HubTransfer value) => report(value);
    }
}
