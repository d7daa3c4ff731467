namespace EfficientFT.Models.Hub;

/// <summary>Where a model given on the command line lives: a directory, or a repo id already in the Hugging Face cache.</summary>
public static class ModelLocation
{
    /// <summary>
    /// <paramref name="pathOrRepoId"/> itself when it is a directory; otherwise, for "org/name" or a canonical
    /// "name" such as roberta-base (optionally "…@revision"), its cached snapshot. Never touches the network:
    /// `eft download` fills the cache.
    /// </summary>
    public static string Resolve(string pathOrRepoId, HubSettings? settings = null)
    {
        if (Directory.Exists(pathOrRepoId)) return pathOrRepoId;
        var (repoId, revision) = Split(pathOrRepoId);
        if (!HubCache.IsRepoId(repoId) || Path.IsPathRooted(repoId) || repoId.StartsWith('.'))
            throw new DirectoryNotFoundException($"{pathOrRepoId}: no such model directory.");
        var cache = new HubCache((settings ?? HubSettings.FromEnvironment()).CacheDirectory);
        var commit = cache.TryResolveCommit(repoId, revision);
        var snapshot = commit == null ? null : cache.SnapshotDirectory(repoId, commit);
        if (snapshot == null || !Directory.Exists(snapshot))
            throw new DirectoryNotFoundException($"{pathOrRepoId}: not a directory, and {repoId} at revision '{revision}' is not in the Hugging Face cache {cache.Root} (fetch it with `eft download {repoId}`).");
        return snapshot;
    }

    /// <summary>"org/name@rev" → ("org/name", "rev"); the revision defaults to main.</summary>
    public static (string RepoId, string Revision) Split(string reference)
    {
        var at = reference.LastIndexOf('@');
        return at > 0 ? (reference[..at], reference[(at + 1)..]) : (reference, "main");
    }
}
