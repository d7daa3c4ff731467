using System.CommandLine;
using System.IO.Enumeration;
using EfficientFT.Models.Hub;

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
            var patterns = r.GetValue(include) is { Length: > 0 } p ? p : DefaultPatterns;
            using var client = new HubClient(HubSettings.FromEnvironment());
            var snapshot = client.DownloadSnapshotAsync(repoId, rev,
                f => patterns.Any(pattern => FileSystemName.MatchesSimpleExpression(pattern, Path.GetFileName(f)))).GetAwaiter().GetResult();
            Console.WriteLine(snapshot);
            return 0;
        }));
        return command;
    }
}
