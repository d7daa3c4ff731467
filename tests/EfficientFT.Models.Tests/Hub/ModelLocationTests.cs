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

    [Fact]
    public void Directory_IsReturnedAsItIs() => Assert.Equal(_cache, ModelLocation.Resolve(_cache, Settings));

    [Fact]
    public void UncachedRepo_SaysHowToFetchIt()
    {
        var e = Assert.Throws<DirectoryNotFoundException>(() => ModelLocation.Resolve("org/absent", Settings));
        Assert.Contains("eft download org/absent", e.Message);
    }
}
