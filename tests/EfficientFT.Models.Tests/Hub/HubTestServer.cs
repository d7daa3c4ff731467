using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace EfficientFT.Models.Tests.Hub;

/// <summary>A file in a test repository; LFS files are served through a CDN redirect like the real Hub's.</summary>
internal sealed record TestFile(byte[] Content, bool Lfs = false)
{
    /// <summary>X-Linked-Size to announce instead of the true size (to provoke a size check failure).</summary>
    public long? AnnouncedSize { get; init; }

    /// <summary>X-Linked-Etag to announce instead of the true sha256 (to provoke a hash check failure).</summary>
    public string? AnnouncedSha256 { get; init; }

    public string Sha256 => Convert.ToHexStringLower(SHA256.HashData(Content));

    /// <summary>The git blob id, which the Hub uses as the ETag of a non-LFS file.</summary>
    public string GitSha1 => Convert.ToHexStringLower(SHA1.HashData([.. Encoding.ASCII.GetBytes($"blob {Content.Length}\0"), .. Content]));
}

internal sealed record TestRepo(string Commit, Dictionary<string, TestFile> Files)
{
    /// <summary>The bearer token the repository requires, or null for a public one.</summary>
    public string? Token { get; init; }

    /// <summary>Answer every resolve with a relative redirect to this repository id, as the Hub does for a renamed repo.</summary>
    public string? RenamedTo { get; init; }
}

internal sealed record RecordedRequest(string Method, string Path, string? Range, string? Authorization);

/// <summary>
/// A minimal Hugging Face Hub on 127.0.0.1 for tests: <c>/{repo}/resolve/{revision}/{file}</c> (HEAD and GET),
/// <c>/api/models/{repo}/revision/{revision}</c> and a <c>/cdn/</c> path serving LFS blobs with Range support.
/// Requests are handled one at a time until the server is disposed.
/// </summary>
internal sealed class HubTestServer : IDisposable
{
    private readonly HttpListener _listener;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;

    /// <param name="repos">Another server's repositories, to serve as its CDN (see <see cref="CdnEndpoint"/>).</param>
    public HubTestServer(Dictionary<string, TestRepo>? repos = null)
    {
        Repos = repos ?? new Dictionary<string, TestRepo>(StringComparer.Ordinal);
        (_listener, Endpoint) = Start();
        _loop = Task.Run(RunAsync);
    }

    public string Endpoint { get; }

    /// <summary>Where LFS redirects point: this server unless set, as the real Hub's CDN is another host.</summary>
    public string? CdnEndpoint { get; set; }

    public Dictionary<string, TestRepo> Repos { get; }

    public ConcurrentQueue<RecordedRequest> Requests { get; } = new();

    public void Dispose()
    {
        _stop.Cancel();
        _listener.Close();
        _loop.Wait(TimeSpan.FromSeconds(10));
    }

    /// <summary>Binds a free port; another process may grab the probed port first, hence the bounded retries.</summary>
    private static (HttpListener, string) Start()
    {
        for (var attempt = 0; ; attempt++)
        {
            var probe = new TcpListener(IPAddress.Loopback, 0);
            probe.Start();
            var port = ((IPEndPoint)probe.LocalEndpoint).Port;
            probe.Stop();
            var listener = new HttpListener();
            var endpoint = $"http://127.0.0.1:{port}";
            listener.Prefixes.Add(endpoint + "/");
            try
            {
                listener.Start();
                return (listener, endpoint);
            }
            catch (HttpListenerException) when (attempt < 5)
            {
                listener.Close();
            }
        }
    }

    private async Task RunAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync().WaitAsync(_stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or HttpListenerException or ObjectDisposedException)
            {
                return;
            }
            var response = context.Response;
            try
            {
                Handle(context.Request, response);
            }
            catch (Exception e)
            {
                response.StatusCode = 500;
                response.StatusDescription = e.GetType().Name;
            }
            finally
            {
                try
                {
                    response.Close();
                }
                catch (HttpListenerException)
                {
                    // The client hung up; nothing to tell it.
                }
            }
        }
    }

    private void Handle(HttpListenerRequest request, HttpListenerResponse response)
    {
        var path = request.Url!.AbsolutePath;
        Requests.Enqueue(new RecordedRequest(request.HttpMethod, Uri.UnescapeDataString(path), request.Headers["Range"], request.Headers["Authorization"]));
        var parts = path.Trim('/').Split('/').Select(Uri.UnescapeDataString).ToArray();

        if (parts is ["cdn", var repoKey, var fileKey])
        {
            var file = Repos[repoKey.Replace("--", "/")].Files[fileKey.Replace("--", "/")];
            ServeBytes(request, response, file.Content);
            return;
        }

        if (parts.Length >= 6 && parts[0] == "api" && parts[1] == "models" && parts[4] == "revision")
        {
            var repoId = $"{parts[2]}/{parts[3]}";
            if (!Authorize(repoId, request, response, out var repo)) return;
            if (parts[5] != "main" && parts[5] != repo.Commit)
            {
                Fail(response, 404, "RevisionNotFound");
                return;
            }
            var json = JsonSerializer.SerializeToUtf8Bytes(new
            {
                id = repoId,
                sha = repo.Commit,
                siblings = repo.Files.Keys.Select(f => new { rfilename = f }),
            });
            response.ContentType = "application/json";
            response.ContentLength64 = json.Length;
            response.OutputStream.Write(json);
            return;
        }

        if (parts.Length >= 5 && parts[2] == "resolve")
        {
            var repoId = $"{parts[0]}/{parts[1]}";
            var revision = parts[3];
            var filename = string.Join('/', parts[4..]);
            if (!Authorize(repoId, request, response, out var repo)) return;
            if (repo.RenamedTo != null)
            {
                response.StatusCode = 307;
                response.Headers["Location"] = $"/{repo.RenamedTo}/resolve/{revision}/{string.Join('/', parts[4..].Select(Uri.EscapeDataString))}";
                return;
            }
            if (revision != "main" && revision != repo.Commit)
            {
                Fail(response, 404, "RevisionNotFound");
                return;
            }
            if (!repo.Files.TryGetValue(filename, out var file))
            {
                Fail(response, 404, "EntryNotFound");
                response.Headers["X-Repo-Commit"] = repo.Commit;
                return;
            }
            response.Headers["X-Repo-Commit"] = repo.Commit;
            if (file.Lfs)
            {
                response.StatusCode = 302;
                response.Headers["ETag"] = $"\"{file.GitSha1}\"";
                response.Headers["X-Linked-Etag"] = $"\"{file.AnnouncedSha256 ?? file.Sha256}\"";
                response.Headers["X-Linked-Size"] = (file.AnnouncedSize ?? file.Content.Length).ToString();
                response.Headers["Location"] = $"{CdnEndpoint ?? Endpoint}/cdn/{repoId.Replace("/", "--")}/{filename.Replace("/", "--")}";
                return;
            }
            response.Headers["ETag"] = $"\"{file.GitSha1}\"";
            ServeBytes(request, response, file.Content);
            return;
        }

        Fail(response, 404, "NotFound");
    }

    private bool Authorize(string repoId, HttpListenerRequest request, HttpListenerResponse response, out TestRepo repo)
    {
        if (!Repos.TryGetValue(repoId, out repo!))
        {
            Fail(response, 404, "RepoNotFound");
            return false;
        }
        if (repo.Token != null && request.Headers["Authorization"] != $"Bearer {repo.Token}")
        {
            // The Hub answers 401 for private repositories whatever the path.
            Fail(response, 401, "RepoNotFound");
            return false;
        }
        return true;
    }

    private static void ServeBytes(HttpListenerRequest request, HttpListenerResponse response, byte[] content)
    {
        var from = 0L;
        if (request.Headers["Range"] is { } range && range.StartsWith("bytes=", StringComparison.Ordinal) && range.EndsWith('-'))
        {
            from = long.Parse(range["bytes=".Length..^1]);
            if (from >= content.Length)
            {
                response.StatusCode = 416;
                return;
            }
            response.StatusCode = 206;
            response.Headers["Content-Range"] = $"bytes {from}-{content.Length - 1}/{content.Length}";
        }
        response.ContentLength64 = content.Length - from;
        if (request.HttpMethod != "HEAD") response.OutputStream.Write(content, (int)from, (int)(content.Length - from));
    }

    private static void Fail(HttpListenerResponse response, int status, string code)
    {
        response.StatusCode = status;
        response.Headers["X-Error-Code"] = code;
    }
}
