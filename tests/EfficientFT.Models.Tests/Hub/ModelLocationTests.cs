using EfficientFT.Models.Hub;

namespace EfficientFT.Models.Tests.Hub;

public sealed class ModelLocationTests : IDisposable
{
    private const string Commit = "0123456789abcdef0123456789abcdef01234567";
    private readonly string _cache = Directory.CreateTempSubdirectory("eft-hub-").FullName;

    public void Dispose() => Directory.Delete(_cache, recursive: true);

    private HubSettings Settings => new() { CacheDirectory = _cache };

    [Fact]
    public void RepoId_ResolvesToTheSnapshotOfItsRef()
    {
        // The layout huggingface_hub writes: models--org--name/refs/main holds the commit, snapshots/<commit>/ the files.
        var repo = Path.Combine(_cache, "models--org--tiny");
        Directory.CreateDirectory(Path.Combine(repo, "refs"));
        File.WriteAllText(Path.Combine(repo, "refs", "main"), Commit);
        var snapshot = Path.Combine(repo, "snapshots", Commit);
        Directory.CreateDirectory(snapshot);
        Assert.Equal(snapshot, ModelLocation.Resolve("org/tiny", Settings));
        Assert.Equal(snapshot, ModelLocation.Resolve($"org/tiny@{Commit}", Settings));
    }

    /// <summary>Canonical repositories have no organisation: `eft download roberta-base` caches models--roberta-base.</summary>
    [Fact]
    public void CanonicalName_ResolvesToItsCachedSnapshot()
    {
        var repo = Path.Combine(_cache, "models--roberta-base");
        Directory.CreateDirectory(Path.Combine(repo, "refs"));
        File.WriteAllText(Path.Combine(repo, "refs", "main"), Commit);
        var snapshot = Directory.CreateDirectory(Path.Combine(repo, "snapshots", Commit)).FullName;
        Assert.Equal(snapshot, ModelLocation.Resolve("roberta-base", Settings));
        Assert.Contains("no such model directory", Assert.Throws<DirectoryNotFoundException>(() => ModelLocation.Resolve("./roberta-base", Settings)).Message);
    }

    [Fact]
    public void Directory_IsReturnedAsItIs() => Assert.Equal(_cache, ModelLocation.Resolve(_cache, Settings));

    [Fact]
    public void UncachedRepo_SaysHowToFetchIt()
    {
        var e = Assert.Throws<DirectoryNotFoundException>(() => ModelLocation.Resolve("org/absent", Settings));
        Assert.Contains("eft download org/absent", e.Message);
    }
}
