using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace EfficientFT.Models.Hub;

/// <summary>
/// Downloads model files from the Hugging Face Hub into the shared cache layout (<see cref="HubCache"/>), following
/// huggingface_hub's <c>hf_hub_download</c>: a HEAD on <c>{endpoint}/{repo}/resolve/{revision}/{file}</c> gives the
/// commit (X-Repo-Commit), the blob's etag (X-Linked-Etag for LFS files, else ETag) and size (X-Linked-Size, else
/// Content-Length); the blob is fetched into <c>blobs/{etag}.incomplete</c> (resumed with a Range request when a
/// previous attempt left one), checked against the size and, for LFS files whose etag is their sha256, the hash,
/// and only then renamed into place and linked from the snapshot. A file that fails a check never reaches
/// <c>snapshots/</c>.
/// </summary>
public sealed partial class HubClient : IDisposable
{
    private const int MaxRedirects = 10;

    private readonly HttpClient _http;
    private readonly HubSettings _settings;

    /// <summary>The Hub's own origin: the only one the token is sent to.</summary>
    private readonly Uri _hub;

    /// <param name="settings">Endpoint, token, cache and offline mode.</param>
    /// <param name="handler">The HTTP stack; tests pass their own. Redirects are followed here, not by the handler.</param>
    public HubClient(HubSettings settings, HttpMessageHandler? handler = null)
    {
        _settings = settings;
        _hub = new Uri(settings.Endpoint);
        Cache = new HubCache(settings.CacheDirectory);
        _http = new HttpClient(handler ?? new SocketsHttpHandler
        {
            // Redirects are followed by hand: a HEAD must stop at the CDN redirect to read the Hub's headers, and the
            // token must not follow a redirect to another host.
            AllowAutoRedirect = false,
            AutomaticDecompression = DecompressionMethods.None,
        })
        {
            Timeout = settings.Timeout,
        };
        _http.DefaultRequestHeaders.UserAgent.Add(new ProductInfoHeaderValue("EfficientFT", "1.0"));
    }

    public HubCache Cache { get; }

    /// <summary>Told as each file's bytes arrive (at most every megabyte), so that a long download can show how far it is.</summary>
    public IProgress<HubTransfer>? Progress { get; set; }

    /// <summary>
    /// The local path of <paramref name="filename"/> in <paramref name="repoId"/> at <paramref name="revision"/>,
    /// downloading it into the cache if needed. Offline, or when the Hub cannot be reached, a cached copy is used.
    /// </summary>
    public async Task<string> DownloadFileAsync(string repoId, string filename, string revision = "main", CancellationToken cancellationToken = default)
    {
        HubCache.ValidateRepoId(repoId);
        HubCache.ValidateFilename(filename);
        HubCache.ValidateRevision(revision);

        // A commit never changes, so a file cached under it needs no request at all.
        if (HubCache.IsCommitHash(revision) && Cache.TryGetFile(repoId, filename, revision) is { } pinned) return pinned;
        if (_settings.Offline)
            return Cache.TryGetFile(repoId, filename, revision) ?? throw new HubException(HubErrorKind.Offline,
                $"HF_HUB_OFFLINE is set and '{filename}' of {repoId} at revision '{revision}' is not in the cache {Cache.Root}.");

        HubFileMetadata meta;
        try
        {
            meta = await GetMetadataAsync(ResolveUrl(repoId, filename, revision), repoId, filename, revision, cancellationToken);
        }
        catch (Exception e) when (IsNetworkFailure(e, cancellationToken))
        {
            return Cache.TryGetFile(repoId, filename, revision) ?? throw new HubException(HubErrorKind.Network,
                $"cannot reach {_settings.Endpoint} to fetch '{filename}' of {repoId} at '{revision}', and the cache {Cache.Root} " +
                $"does not hold it: {e.Message}", e);
        }

        var pointer = Cache.SnapshotPath(repoId, meta.Commit, filename);
        if (!File.Exists(pointer))
        {
            var blob = Cache.BlobPath(repoId, meta.Etag);
            if (!File.Exists(blob)) await DownloadBlobAsync(meta, blob, $"'{filename}' of {repoId}", cancellationToken);
            HubCache.Link(blob, pointer);
        }
        // Only once the file is in place: a ref moved to a commit whose download then broke off would take the
        // revision away from the snapshot that was complete before.
        Cache.WriteRef(repoId, revision, meta.Commit);
        return pointer;
    }

    /// <summary>The commit and file list of <paramref name="repoId"/> at <paramref name="revision"/> (<c>/api/models/{repo}/revision/{revision}</c>).</summary>
    public async Task<HubRepoInfo> GetRepoInfoAsync(string repoId, string revision = "main", CancellationToken cancellationToken = default)
    {
        HubCache.ValidateRepoId(repoId);
        HubCache.ValidateRevision(revision);
        if (_settings.Offline)
            throw new HubException(HubErrorKind.Offline, $"HF_HUB_OFFLINE is set; cannot list the files of {repoId}.");
        var url = new Uri($"{_settings.Endpoint}/api/models/{repoId}/revision/{Uri.EscapeDataString(revision)}");
        HttpResponseMessage response;
        try
        {
            response = await SendAsync(HttpMethod.Get, url, null, followAbsolute: true, cancellationToken);
        }
        catch (Exception e) when (IsNetworkFailure(e, cancellationToken))
        {
            throw new HubException(HubErrorKind.Network, $"cannot reach {_settings.Endpoint} to list the files of {repoId}: {e.Message}", e);
        }
        using var _ = response;
        ThrowIfFailed(response, $"the file list of {repoId} at '{revision}'");
        try
        {
            using var doc = await JsonDocument.ParseAsync(await response.Content.ReadAsStreamAsync(cancellationToken), default, cancellationToken);
            var root = doc.RootElement;
            var sha = root.GetProperty("sha").GetString();
            if (sha == null || !HubCache.IsCommitHash(sha)) throw new JsonException($"\"sha\" is '{sha}', not a commit hash.");
            var files = root.GetProperty("siblings").EnumerateArray()
                .Select(s => s.GetProperty("rfilename").GetString() ?? throw new JsonException("a sibling has a null rfilename."))
                .ToArray();
            return new HubRepoInfo(repoId, sha, files);
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            throw new HubException(HubErrorKind.Protocol, $"{url} did not answer with the Hub's repository JSON: {e.Message}", e);
        }
    }

    /// <summary>
    /// Downloads every file of <paramref name="repoId"/> at <paramref name="revision"/> that <paramref name="include"/>
    /// accepts (all when null) and returns the snapshot folder. Offline, the cached snapshot of the revision is
    /// returned as it is, and so it is when the Hub cannot be reached.
    /// </summary>
    public async Task<string> DownloadSnapshotAsync(string repoId, string revision = "main", Func<string, bool>? include = null,
        CancellationToken cancellationToken = default)
    {
        HubCache.ValidateRepoId(repoId);
        HubCache.ValidateRevision(revision);
        if (_settings.Offline)
            return CachedSnapshot(repoId, revision) ?? throw new HubException(HubErrorKind.Offline,
                $"HF_HUB_OFFLINE is set and no snapshot of {repoId} at revision '{revision}' is in the cache {Cache.Root}.");
        HubRepoInfo info;
        try
        {
            info = await GetRepoInfoAsync(repoId, revision, cancellationToken);
        }
        catch (HubException e) when (e.Kind == HubErrorKind.Network && CachedSnapshot(repoId, revision) is { } cached)
        {
            return cached;
        }
        foreach (var file in info.Files.Where(f => include?.Invoke(f) ?? true))
            await DownloadFileAsync(repoId, file, info.Sha, cancellationToken);
        var snapshot = Cache.SnapshotDirectory(repoId, info.Sha);
        Directory.CreateDirectory(snapshot);
        // After every file, for the reason DownloadFileAsync gives.
        Cache.WriteRef(repoId, revision, info.Sha);
        return snapshot;
    }

    public void Dispose() => _http.Dispose();

    private string? CachedSnapshot(string repoId, string revision)
    {
        var commit = Cache.TryResolveCommit(repoId, revision);
        var folder = commit == null ? null : Cache.SnapshotDirectory(repoId, commit);
        return folder != null && Directory.Exists(folder) ? folder : null;
    }

    private Uri ResolveUrl(string repoId, string filename, string revision) =>
        new($"{_settings.Endpoint}/{repoId}/resolve/{Uri.EscapeDataString(revision)}/{string.Join('/', filename.Split('/').Select(Uri.EscapeDataString))}");

    private async Task<HubFileMetadata> GetMetadataAsync(Uri url, string repoId, string filename, string revision, CancellationToken ct)
    {
        // Only relative redirects (a renamed repository) are followed; an absolute one goes to the CDN, and its
        // Location is where the blob is fetched from, while the Hub's own headers on it describe the blob.
        using var response = await SendAsync(HttpMethod.Head, url, null, followAbsolute: false, ct);
        var what = $"'{filename}' of {repoId} at '{revision}'";
        var redirected = (int)response.StatusCode is >= 300 and < 400;
        if (!redirected) ThrowIfFailed(response, what);

        var commit = Header(response, "X-Repo-Commit");
        var etag = NormalizeEtag(Header(response, "X-Linked-Etag") ?? Header(response, "ETag"));
        if (commit == null || !HubCache.IsCommitHash(commit) || etag == null)
            throw new HubException(HubErrorKind.Protocol,
                $"{url} answered without a commit hash (X-Repo-Commit) or an ETag for {what}; is {_settings.Endpoint} a Hugging Face Hub?");
        var sizeText = Header(response, "X-Linked-Size");
        long? size = sizeText != null && long.TryParse(sizeText, out var linked) ? linked : response.Content.Headers.ContentLength;
        var location = redirected && response.Headers.Location is { } target ? new Uri(response.RequestMessage!.RequestUri!, target) : response.RequestMessage!.RequestUri!;
        return new HubFileMetadata(commit, etag, size, location);
    }

    private async Task DownloadBlobAsync(HubFileMetadata meta, string blob, string what, CancellationToken ct)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(blob)!);
        var incomplete = blob + ".incomplete";
        await using (var file = OpenIncomplete(incomplete, what))
        {
            if (meta.Size is { } expected && file.Length > expected) file.SetLength(0);
            if (meta.Size is not { } complete || file.Length != complete) await FetchAsync(meta, file, what, ct);

            string? problem = null;
            if (meta.Size is { } size && file.Length != size)
                problem = $"downloaded {file.Length} bytes, but the Hub announced {size}";
            else if (Sha256Pattern().IsMatch(meta.Etag))
            {
                file.Position = 0;
                var hash = Convert.ToHexStringLower(await SHA256.HashDataAsync(file, ct));
                if (hash != meta.Etag) problem = $"the sha256 of the downloaded bytes is {hash}, not {meta.Etag}";
            }
            if (problem != null)
            {
                file.SetLength(0);
                await file.DisposeAsync();
                File.Delete(incomplete);
                throw new HubException(HubErrorKind.Integrity, $"{what} from {meta.Location}: {problem}; nothing was cached.");
            }
            await file.FlushAsync(ct);
        }
        File.Move(incomplete, blob, overwrite: true);
    }

    /// <summary>
    /// The partial blob, opened with FileShare.None so that it is also a lock: a second process downloading the same
    /// blob stops here, saying so, instead of interleaving bytes into it.
    /// </summary>
    private static FileStream OpenIncomplete(string incomplete, string what)
    {
        try
        {
            return new FileStream(incomplete, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 1 << 16, useAsync: true);
        }
        catch (IOException e) when (File.Exists(incomplete))
        {
            throw new HubException(HubErrorKind.InProgress,
                $"{what}: another process is downloading it into {incomplete}; run again once that download has finished.", e);
        }
    }

    /// <summary>Appends the rest of the blob to <paramref name="file"/>, asking only for the bytes it lacks.</summary>
    private async Task FetchAsync(HubFileMetadata meta, FileStream file, string what, CancellationToken ct)
    {
        var resumeFrom = file.Length;
        try
        {
            using var response = await SendAsync(HttpMethod.Get, meta.Location, resumeFrom > 0 ? resumeFrom : null, followAbsolute: true, ct);
            if (response.StatusCode == HttpStatusCode.RequestedRangeNotSatisfiable && resumeFrom > 0)
            {
                // The partial file does not fit the blob any more; start over.
                file.SetLength(0);
                await FetchAsync(meta, file, what, ct);
                return;
            }
            ThrowIfFailed(response, what);
            if (response.StatusCode == HttpStatusCode.PartialContent && response.Content.Headers.ContentRange?.From == resumeFrom)
                file.Position = resumeFrom;
            else
            {
                // The server sent the whole file (it ignored the Range header, or answered for another range).
                file.SetLength(0);
                file.Position = 0;
            }

            await using var body = await response.Content.ReadAsStreamAsync(ct);
            var buffer = new byte[1 << 20];
            var reported = file.Position;
            Progress?.Report(new HubTransfer(what, reported, meta.Size));
            while (true)
            {
                // Bounds each read, not the download: a stalled connection fails, a slow large one does not.
                using var readTimeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
                readTimeout.CancelAfter(_settings.Timeout);
                var read = await body.ReadAsync(buffer, readTimeout.Token);
                if (read == 0)
                {
                    if (reported != file.Position) Progress?.Report(new HubTransfer(what, file.Position, meta.Size));
                    break;
                }
                await file.WriteAsync(buffer.AsMemory(0, read), ct);
                if (file.Position - reported < buffer.Length) continue;
                reported = file.Position;
                Progress?.Report(new HubTransfer(what, reported, meta.Size));
            }
        }
        catch (Exception e) when (e is HttpRequestException or HttpIOException || (e is OperationCanceledException && !ct.IsCancellationRequested))
        {
            await file.FlushAsync(CancellationToken.None);
            throw new HubException(HubErrorKind.Network,
                $"{what}: the download from {meta.Location} broke off after {file.Length} bytes ({e.Message}); " +
                "the partial file is kept and the next attempt resumes it.", e);
        }
    }

    /// <summary>Sends a request, following redirects by hand (at most <see cref="MaxRedirects"/>).</summary>
    private async Task<HttpResponseMessage> SendAsync(HttpMethod method, Uri url, long? rangeFrom, bool followAbsolute, CancellationToken ct)
    {
        var current = url;
        for (var hop = 0; ; hop++)
        {
            using var request = new HttpRequestMessage(method, current);
            // The token goes only to the Hub itself, never to a CDN, whether the Hub redirected there or the request
            // was sent there directly (a blob is fetched from the Location the Hub's HEAD answered with).
            if (_settings.Token != null && SameOrigin(current, _hub))
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _settings.Token);
            // Identity encoding keeps Content-Length equal to the file's size.
            request.Headers.AcceptEncoding.Add(new StringWithQualityHeaderValue("identity"));
            if (rangeFrom is { } from) request.Headers.Range = new RangeHeaderValue(from, null);

            var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct);
            var status = (int)response.StatusCode;
            if (status is < 300 or >= 400 || response.Headers.Location is not { } location) return response;
            var relative = !location.IsAbsoluteUri;
            if (!relative && !followAbsolute) return response;
            if (hop == MaxRedirects)
            {
                response.Dispose();
                throw new HubException(HubErrorKind.Protocol, $"{url}: more than {MaxRedirects} redirects.");
            }
            current = new Uri(current, location);
            response.Dispose();
        }
    }

    private static void ThrowIfFailed(HttpResponseMessage response, string what)
    {
        if (response.IsSuccessStatusCode) return;
        var status = (int)response.StatusCode;
        var code = Header(response, "X-Error-Code");
        var detail = $"{status} {response.ReasonPhrase}{(code != null ? $" ({code})" : "")} from {response.RequestMessage?.RequestUri}";
        throw status switch
        {
            // The Hub answers 401 for a repository that does not exist as for a private one, so the message says both.
            401 or 403 => new HubException(HubErrorKind.Unauthorized,
                $"{what}: {detail}. Either no such repository exists (check the id), or it is private or gated: then set HF_TOKEN to a token with access."),
            404 => new HubException(HubErrorKind.NotFound, $"{what}: {detail}. Check the repository id, revision and file name."),
            _ => new HubException(HubErrorKind.Protocol, $"{what}: {detail}."),
        };
    }

    /// <summary>huggingface_hub's <c>_normalize_etag</c>: drop a weak-validator <c>W/</c> prefix and the quotes.</summary>
    internal static string? NormalizeEtag(string? etag)
    {
        if (etag == null) return null;
        if (etag.StartsWith("W/", StringComparison.Ordinal)) etag = etag[2..];
        etag = etag.Trim('"');
        return etag.Length == 0 ? null : etag;
    }

    private static string? Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) || response.Content.Headers.TryGetValues(name, out values)
            ? values.FirstOrDefault()
            : null;

    private static bool SameOrigin(Uri a, Uri b) =>
        a.Scheme == b.Scheme && string.Equals(a.Host, b.Host, StringComparison.OrdinalIgnoreCase) && a.Port == b.Port;

    private static bool IsNetworkFailure(Exception e, CancellationToken ct) =>
        e is HttpRequestException || (e is TaskCanceledException && !ct.IsCancellationRequested);

    [GeneratedRegex("^[0-9a-f]{64}$")]
    private static partial Regex Sha256Pattern();
}
