using System.Text;
using EfficientFT.Models.Hub;

namespace EfficientFT.Models.Tests.Hub;

public sealed class HubClientTests : IDisposable
{
    private const string Commit = "0123456789abcdef0123456789abcdef01234567";
    private const string RepoId = "org/tiny";

    private static readonly byte[] Config = Encoding.UTF8.GetBytes("{\"model_type\": \"llama\"}\n");
    private static readonly byte[] Weights = Enumerable.Range(0, 1000).Select(i => (byte)(i * 7)).ToArray();

    private readonly HubTestServer _server = new();
    private readonly TempDirectory _cache = new();
    private readonly CancellationTokenSource _timeout = new(TimeSpan.FromSeconds(60));

    public HubClientTests()
    {
        _server.Repos[RepoId] = new TestRepo(Commit, new Dictionary<string, TestFile>
        {
            ["config.json"] = new(Config),
            ["model.safetensors"] = new(Weights, Lfs: true),
            ["tokenizer/vocab.txt"] = new("a\nb\n"u8.ToArray()),
            ["broken.bin"] = new(Weights, Lfs: true) { AnnouncedSize = 2000 },
            ["tampered.bin"] = new(Weights, Lfs: true) { AnnouncedSha256 = new string('e', 64) },
        });
        _server.Repos["org/private"] = new TestRepo(Commit, new Dictionary<string, TestFile> { ["config.json"] = new(Config) }) { Token = "secret" };
        _server.Repos["old-org/tiny"] = new TestRepo(Commit, []) { RenamedTo = RepoId };
    }

    public void Dispose()
    {
        _server.Dispose();
        _cache.Dispose();
        _timeout.Dispose();
    }

    private string RepoDir => _cache.File("models--org--tiny");

    private HubClient Client(bool offline = false, string? token = null, string? endpoint = null) => new(new HubSettings
    {
        Endpoint = endpoint ?? _server.Endpoint,
        CacheDirectory = _cache.Path,
        Offline = offline,
        Token = token,
        Timeout = TimeSpan.FromSeconds(10),
    });

    [Fact]
    public async Task SmallFile_LandsInTheCacheLayout()
    {
        using var client = Client();
        var path = await client.DownloadFileAsync(RepoId, "config.json", cancellationToken: _timeout.Token);

        Assert.Equal(Path.Combine(RepoDir, "snapshots", Commit, "config.json"), path);
        Assert.Equal(Config, File.ReadAllBytes(path));
        var gitSha = _server.Repos[RepoId].Files["config.json"].GitSha1;
        Assert.Equal($"../../blobs/{gitSha}", new FileInfo(path).LinkTarget);
        Assert.Equal(Config, File.ReadAllBytes(Path.Combine(RepoDir, "blobs", gitSha)));
        Assert.Equal(Commit, File.ReadAllText(Path.Combine(RepoDir, "refs", "main")));
    }

    [Fact]
    public async Task LfsFile_FollowsTheCdnRedirect_AndIsNamedBySha256()
    {
        using var client = Client();
        var path = await client.DownloadFileAsync(RepoId, "model.safetensors", cancellationToken: _timeout.Token);

        Assert.Equal(Weights, File.ReadAllBytes(path));
        var sha = _server.Repos[RepoId].Files["model.safetensors"].Sha256;
        Assert.Equal($"../../blobs/{sha}", new FileInfo(path).LinkTarget);
        Assert.Equal(
            [("HEAD", "/org/tiny/resolve/main/model.safetensors"), ("GET", "/cdn/org--tiny/model.safetensors")],
            _server.Requests.Select(r => (r.Method, r.Path)));
    }

    [Fact]
    public async Task NestedFile_LinksAcrossItsFolders()
    {
        using var client = Client();
        var path = await client.DownloadFileAsync(RepoId, "tokenizer/vocab.txt", cancellationToken: _timeout.Token);
        Assert.Equal(Path.Combine(RepoDir, "snapshots", Commit, "tokenizer", "vocab.txt"), path);
        Assert.StartsWith("../../../blobs/", new FileInfo(path).LinkTarget);
        Assert.Equal("a\nb\n", File.ReadAllText(path));
    }

    [Fact]
    public async Task CachedFile_IsNotDownloadedAgain_AndAPinnedCommitNeedsNoRequest()
    {
        using var client = Client();
        await client.DownloadFileAsync(RepoId, "model.safetensors", cancellationToken: _timeout.Token);
        _server.Requests.Clear();

        await client.DownloadFileAsync(RepoId, "model.safetensors", cancellationToken: _timeout.Token);
        Assert.Equal(["HEAD"], _server.Requests.Select(r => r.Method));

        _server.Requests.Clear();
        var pinned = await client.DownloadFileAsync(RepoId, "model.safetensors", Commit, _timeout.Token);
        Assert.Empty(_server.Requests);
        Assert.Equal(Weights, File.ReadAllBytes(pinned));
    }

    [Fact]
    public async Task PartialDownload_ResumesWithARangeRequest()
    {
        var sha = _server.Repos[RepoId].Files["model.safetensors"].Sha256;
        var blobs = Directory.CreateDirectory(Path.Combine(RepoDir, "blobs")).FullName;
        File.WriteAllBytes(Path.Combine(blobs, sha + ".incomplete"), Weights[..300]);

        using var client = Client();
        var path = await client.DownloadFileAsync(RepoId, "model.safetensors", cancellationToken: _timeout.Token);

        Assert.Equal(Weights, File.ReadAllBytes(path));
        var get = Assert.Single(_server.Requests, r => r.Method == "GET");
        Assert.Equal("bytes=300-", get.Range);
        Assert.Equal([sha], Directory.GetFiles(blobs).Select(Path.GetFileName));
    }

    [Fact]
    public async Task PartialDownloadLongerThanTheBlob_StartsOver()
    {
        var sha = _server.Repos[RepoId].Files["model.safetensors"].Sha256;
        var blobs = Directory.CreateDirectory(Path.Combine(RepoDir, "blobs")).FullName;
        File.WriteAllBytes(Path.Combine(blobs, sha + ".incomplete"), new byte[1500]);

        using var client = Client();
        var path = await client.DownloadFileAsync(RepoId, "model.safetensors", cancellationToken: _timeout.Token);
        Assert.Equal(Weights, File.ReadAllBytes(path));
        Assert.Null(Assert.Single(_server.Requests, r => r.Method == "GET").Range);
    }

    [Theory]
    [InlineData("broken.bin", "announced 2000")]
    [InlineData("tampered.bin", "sha256")]
    public async Task FileFailingItsCheck_IsRefused_AndNothingIsCached(string filename, string reason)
    {
        using var client = Client();
        var e = await Assert.ThrowsAsync<HubException>(() => client.DownloadFileAsync(RepoId, filename, cancellationToken: _timeout.Token));

        Assert.Equal(HubErrorKind.Integrity, e.Kind);
        Assert.Contains(reason, e.Message);
        Assert.Contains(filename, e.Message);
        Assert.False(Directory.Exists(Path.Combine(RepoDir, "snapshots")) &&
                     Directory.EnumerateFileSystemEntries(Path.Combine(RepoDir, "snapshots"), "*", SearchOption.AllDirectories).Any());
        Assert.Empty(Directory.GetFiles(Path.Combine(RepoDir, "blobs")));
    }

    /// <summary>
    /// The blob is fetched from the Location the Hub's HEAD answered with, a CDN on another host: the token, which the
    /// HEAD carried, must not go with it there.
    /// </summary>
    [Fact]
    public async Task TheToken_GoesToTheHubButNotToItsCdn()
    {
        using var cdn = new HubTestServer(_server.Repos);
        _server.CdnEndpoint = cdn.Endpoint;
        using var client = Client(token: "secret");
        var path = await client.DownloadFileAsync(RepoId, "model.safetensors", cancellationToken: _timeout.Token);

        Assert.Equal(Weights, File.ReadAllBytes(path));
        Assert.Equal([("HEAD", "Bearer secret")], _server.Requests.Select(r => (r.Method, r.Authorization)));
        Assert.Equal([("GET", (string?)null)], cdn.Requests.Select(r => (r.Method, r.Authorization)));
    }

    [Fact]
    public async Task PrivateRepo_NeedsTheToken()
    {
        using (var anonymous = Client())
        {
            var e = await Assert.ThrowsAsync<HubException>(() => anonymous.DownloadFileAsync("org/private", "config.json", cancellationToken: _timeout.Token));
            Assert.Equal(HubErrorKind.Unauthorized, e.Kind);
            Assert.Contains("401", e.Message);
            Assert.Contains("HF_TOKEN", e.Message);
        }

        var settings = HubSettings.FromEnvironment(name => name switch
        {
            "HF_TOKEN" => "secret",
            "HF_ENDPOINT" => _server.Endpoint + "/",
            "HF_HUB_CACHE" => _cache.Path,
            _ => null,
        });
        using var authorized = new HubClient(settings);
        var path = await authorized.DownloadFileAsync("org/private", "config.json", cancellationToken: _timeout.Token);
        Assert.Equal(Config, File.ReadAllBytes(path));
        Assert.Equal("Bearer secret", _server.Requests.Last().Authorization);
    }

    [Theory]
    [InlineData("org/tiny", "missing.json", "main", "EntryNotFound")]
    [InlineData("org/tiny", "config.json", "v9", "RevisionNotFound")]
    [InlineData("org/nothing", "config.json", "main", "RepoNotFound")]
    public async Task MissingThings_AreNotFound(string repo, string filename, string revision, string code)
    {
        using var client = Client();
        var e = await Assert.ThrowsAsync<HubException>(() => client.DownloadFileAsync(repo, filename, revision, _timeout.Token));
        Assert.Equal(HubErrorKind.NotFound, e.Kind);
        Assert.Contains(code, e.Message);
    }

    [Fact]
    public async Task RenamedRepo_FollowsTheRelativeRedirect()
    {
        using var client = Client();
        var path = await client.DownloadFileAsync("old-org/tiny", "config.json", cancellationToken: _timeout.Token);
        Assert.Equal(Path.Combine(_cache.Path, "models--old-org--tiny", "snapshots", Commit, "config.json"), path);
        Assert.Equal(Config, File.ReadAllBytes(path));
    }

    [Fact]
    public async Task Snapshot_DownloadsEveryListedFile()
    {
        _server.Repos[RepoId].Files.Remove("broken.bin");
        _server.Repos[RepoId].Files.Remove("tampered.bin");
        using var client = Client();

        var info = await client.GetRepoInfoAsync(RepoId, cancellationToken: _timeout.Token);
        Assert.Equal(Commit, info.Sha);
        Assert.Equal(["config.json", "model.safetensors", "tokenizer/vocab.txt"], info.Files.Order());

        var snapshot = await client.DownloadSnapshotAsync(RepoId, include: f => f != "tokenizer/vocab.txt", cancellationToken: _timeout.Token);
        Assert.Equal(Path.Combine(RepoDir, "snapshots", Commit), snapshot);
        Assert.Equal(Config, File.ReadAllBytes(Path.Combine(snapshot, "config.json")));
        Assert.Equal(Weights, File.ReadAllBytes(Path.Combine(snapshot, "model.safetensors")));
        Assert.False(File.Exists(Path.Combine(snapshot, "tokenizer", "vocab.txt")));
        Assert.Equal(Commit, File.ReadAllText(Path.Combine(RepoDir, "refs", "main")));
    }

    [Fact]
    public async Task ABlobAnotherProcessIsDownloading_IsReportedAsSuch_AndLeftAlone()
    {
        var sha = _server.Repos[RepoId].Files["model.safetensors"].Sha256;
        var incomplete = Path.Combine(RepoDir, "blobs", sha + ".incomplete");
        Directory.CreateDirectory(Path.GetDirectoryName(incomplete)!);
        using (var other = new FileStream(incomplete, FileMode.Create, FileAccess.ReadWrite, FileShare.None))
        {
            other.Write(Weights, 0, 10);
            other.Flush();
            using var client = Client();
            var e = await Assert.ThrowsAsync<HubException>(() => client.DownloadFileAsync(RepoId, "model.safetensors", cancellationToken: _timeout.Token));
            Assert.Equal(HubErrorKind.InProgress, e.Kind);
            Assert.Contains(incomplete, e.Message);
        }
        Assert.Equal(Weights[..10], File.ReadAllBytes(incomplete));
    }

    /// <summary>
    /// main moves upstream and the new snapshot's download fails (here a file whose bytes do not match its sha256):
    /// main must still name the complete snapshot it named before, so the model keeps loading.
    /// </summary>
    [Fact]
    public async Task AFailedUpdate_LeavesTheRevisionOnTheSnapshotThatWasComplete()
    {
        const string newCommit = "89abcdef0123456789abcdef0123456789abcdef";
        var files = _server.Repos[RepoId].Files;
        using var client = Client();
        var before = await client.DownloadSnapshotAsync(RepoId, include: f => f is "config.json" or "model.safetensors", cancellationToken: _timeout.Token);

        _server.Repos[RepoId] = new TestRepo(newCommit, files);
        await Assert.ThrowsAsync<HubException>(() => client.DownloadSnapshotAsync(RepoId, include: f => f is "config.json" or "tampered.bin", cancellationToken: _timeout.Token));
        await Assert.ThrowsAsync<HubException>(() => client.DownloadFileAsync(RepoId, "tampered.bin", cancellationToken: _timeout.Token));

        Assert.Equal(Commit, File.ReadAllText(Path.Combine(RepoDir, "refs", "main")));
        Assert.Equal(before, ModelLocation.Resolve(RepoId, new HubSettings { Endpoint = _server.Endpoint, CacheDirectory = _cache.Path }));
    }

    [Fact]
    public async Task Offline_ReadsACacheWrittenByPython_AndNeverTouchesTheNetwork()
    {
        // The layout huggingface_hub leaves behind: blob, ref, and a relative symlink in the snapshot.
        var blobs = Directory.CreateDirectory(Path.Combine(RepoDir, "blobs")).FullName;
        File.WriteAllBytes(Path.Combine(blobs, "f00d"), Config);
        Directory.CreateDirectory(Path.Combine(RepoDir, "refs"));
        File.WriteAllText(Path.Combine(RepoDir, "refs", "main"), Commit);
        var snapshot = Directory.CreateDirectory(Path.Combine(RepoDir, "snapshots", Commit)).FullName;
        File.CreateSymbolicLink(Path.Combine(snapshot, "config.json"), "../../blobs/f00d");

        var settings = HubSettings.FromEnvironment(name => name switch
        {
            "HF_HUB_OFFLINE" => "1",
            "HF_ENDPOINT" => _server.Endpoint,
            "HF_HOME" => _cache.Path,
            _ => null,
        }) with { CacheDirectory = _cache.Path };
        Assert.True(settings.Offline);
        using var client = new HubClient(settings);

        var path = await client.DownloadFileAsync(RepoId, "config.json", cancellationToken: _timeout.Token);
        Assert.Equal(Config, File.ReadAllBytes(path));
        Assert.Equal(snapshot, await client.DownloadSnapshotAsync(RepoId, cancellationToken: _timeout.Token));

        var e = await Assert.ThrowsAsync<HubException>(() => client.DownloadFileAsync(RepoId, "model.safetensors", cancellationToken: _timeout.Token));
        Assert.Equal(HubErrorKind.Offline, e.Kind);
        Assert.Contains("HF_HUB_OFFLINE", e.Message);
        Assert.Contains("model.safetensors", e.Message);
        Assert.Empty(_server.Requests);
    }

    [Fact]
    public async Task UnreachableHub_FallsBackToTheCache()
    {
        using (var online = Client())
            await online.DownloadFileAsync(RepoId, "config.json", cancellationToken: _timeout.Token);
        var deadEndpoint = _server.Endpoint;
        _server.Dispose();

        using var client = Client(endpoint: deadEndpoint);
        var path = await client.DownloadFileAsync(RepoId, "config.json", cancellationToken: _timeout.Token);
        Assert.Equal(Config, File.ReadAllBytes(path));

        var e = await Assert.ThrowsAsync<HubException>(() => client.DownloadFileAsync(RepoId, "model.safetensors", cancellationToken: _timeout.Token));
        Assert.Equal(HubErrorKind.Network, e.Kind);
    }

    [Theory]
    [InlineData("../etc")]
    [InlineData("a/b/c")]
    [InlineData("org--x/y")]
    public async Task InvalidRepoIds_AreRefusedBeforeAnyRequest(string repoId)
    {
        using var client = Client();
        await Assert.ThrowsAsync<ArgumentException>(() => client.DownloadFileAsync(repoId, "config.json", cancellationToken: _timeout.Token));
        await Assert.ThrowsAsync<ArgumentException>(() => client.DownloadFileAsync(RepoId, "../../secret", cancellationToken: _timeout.Token));
        Assert.Empty(_server.Requests);
    }
}
