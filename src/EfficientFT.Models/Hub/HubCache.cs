using System.Text.RegularExpressions;

namespace EfficientFT.Models.Hub;

/// <summary>
/// The Hugging Face cache layout, shared with Python's huggingface_hub so either can read what the other wrote:
/// <code>
/// {root}/models--{org}--{name}/
///   blobs/{etag}                      file contents, named by git sha1 or, for LFS files, sha256
///   refs/{revision}                   the commit hash a branch or tag pointed to when last resolved
///   snapshots/{commit}/{path}         relative symlink to ../../blobs/{etag} (a copy where links fail)
/// </code>
/// </summary>
public sealed partial class HubCache(string root)
{
    public string Root { get; } = root;

    /// <summary>The folder of <paramref name="repoId"/>: <c>models--org--name</c>.</summary>
    public string RepoDirectory(string repoId) =>
        Path.Combine(Root, "models--" + ValidateRepoId(repoId).Replace("/", "--", StringComparison.Ordinal));

    public string BlobPath(string repoId, string etag)
    {
        if (!EtagPattern().IsMatch(etag)) throw new HubException(HubErrorKind.Protocol, $"ETag '{etag}' cannot name a cache blob.");
        return Path.Combine(RepoDirectory(repoId), "blobs", etag);
    }

    public string SnapshotDirectory(string repoId, string commit)
    {
        if (!IsCommitHash(commit)) throw new ArgumentException($"'{commit}' is not a 40-character commit hash.", nameof(commit));
        return Path.Combine(RepoDirectory(repoId), "snapshots", commit);
    }

    public string SnapshotPath(string repoId, string commit, string filename) =>
        Path.Combine([SnapshotDirectory(repoId, commit), .. ValidateFilename(filename).Split('/')]);

    /// <summary>The commit a revision resolves to from the cache alone: itself if it is a hash, else refs/{revision}.</summary>
    public string? TryResolveCommit(string repoId, string revision)
    {
        if (IsCommitHash(revision)) return revision;
        var refPath = RefPath(repoId, revision);
        if (!File.Exists(refPath)) return null;
        var commit = File.ReadAllText(refPath).Trim();
        return IsCommitHash(commit) ? commit : null;
    }

    /// <summary>The cached file for <paramref name="filename"/> at <paramref name="revision"/>, or null.</summary>
    public string? TryGetFile(string repoId, string filename, string revision)
    {
        var commit = TryResolveCommit(repoId, revision);
        if (commit == null) return null;
        var path = SnapshotPath(repoId, commit, filename);
        // File.Exists follows the symlink, so a link whose blob was deleted counts as missing.
        return File.Exists(path) ? path : null;
    }

    /// <summary>Records that <paramref name="revision"/> points at <paramref name="commit"/> (nothing to do for a hash).</summary>
    public void WriteRef(string repoId, string revision, string commit)
    {
        if (revision == commit) return;
        var refPath = RefPath(repoId, revision);
        // Rewriting an unchanged ref would fail needlessly in a read-only shared cache.
        if (File.Exists(refPath) && File.ReadAllText(refPath).Trim() == commit) return;
        Directory.CreateDirectory(Path.GetDirectoryName(refPath)!);
        var temp = refPath + "." + Guid.NewGuid().ToString("N") + ".tmp";
        File.WriteAllText(temp, commit);
        File.Move(temp, refPath, overwrite: true);
    }

    /// <summary>Points <paramref name="pointer"/> at <paramref name="blob"/> with a relative symlink, or copies it where links fail.</summary>
    public static void Link(string blob, string pointer)
    {
        var directory = Path.GetDirectoryName(pointer)!;
        Directory.CreateDirectory(directory);
        // A stale pointer may be a dangling link, which FileInfo.Exists reports as absent.
        var existing = new FileInfo(pointer);
        if (existing.Exists || existing.LinkTarget != null) existing.Delete();
        try
        {
            // Relative, as huggingface_hub makes them, so the cache can be moved or mounted elsewhere.
            File.CreateSymbolicLink(pointer, Path.GetRelativePath(directory, blob));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or PlatformNotSupportedException)
        {
            var temp = pointer + "." + Guid.NewGuid().ToString("N") + ".tmp";
            File.Copy(blob, temp);
            File.Move(temp, pointer, overwrite: true);
        }
    }

    public static bool IsCommitHash(string revision) => CommitPattern().IsMatch(revision);

    /// <summary>huggingface_hub's repo id rule: [org/]name of word characters, '-', '.', no "--" or "..", at most 96 per part.</summary>
    internal static string ValidateRepoId(string repoId)
    {
        if (!IsRepoId(repoId))
            throw new ArgumentException($"'{repoId}' is not a valid repository id (expected 'org/name' or 'name').", nameof(repoId));
        return repoId;
    }

    internal static bool IsRepoId(string repoId) =>
        RepoIdPattern().IsMatch(repoId) && !repoId.Contains("--", StringComparison.Ordinal) && !repoId.Contains("..", StringComparison.Ordinal);

    /// <summary>A path inside the repository, '/'-separated, that cannot climb out of a snapshot folder.</summary>
    internal static string ValidateFilename(string filename)
    {
        if (filename.Length == 0 || filename.StartsWith('/') || filename.Contains('\\')
            || filename.Split('/').Any(part => part is "" or "." or ".."))
            throw new ArgumentException($"'{filename}' is not a relative path inside a repository.", nameof(filename));
        return filename;
    }

    internal static string ValidateRevision(string revision)
    {
        if (revision.Length == 0 || revision.StartsWith('/') || revision.Contains('\\')
            || revision.Split('/').Any(part => part is "" or "." or ".."))
            throw new ArgumentException($"'{revision}' is not a valid revision.", nameof(revision));
        return revision;
    }

    private string RefPath(string repoId, string revision) =>
        Path.Combine([RepoDirectory(repoId), "refs", .. ValidateRevision(revision).Split('/')]);

    [GeneratedRegex("^[0-9a-f]{40}$")]
    private static partial Regex CommitPattern();

    [GeneratedRegex("^[A-Za-z0-9._-]+$")]
    private static partial Regex EtagPattern();

    [GeneratedRegex(@"^([\w.-]{1,96}/)?[\w.-]{1,96}$")]
    private static partial Regex RepoIdPattern();
}
