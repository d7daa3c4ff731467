using System.Text;
using EfficientFT.Cli.Commands;
using EfficientFT.Models.Tests.Hub;

namespace EfficientFT.Cli.Tests;

/// <summary>`eft download` against a local stand-in for the Hub (HF_ENDPOINT), into a cache made for the test.</summary>
[Collection("console")]
public sealed class DownloadCommandTests : IDisposable
{
    private const string Commit = "0123456789abcdef0123456789abcdef01234567";
    private static readonly byte[] Config = Encoding.UTF8.GetBytes("{\"model_type\": \"llama\"}\n");

    private readonly HubTestServer _server = new();
    private readonly string _cache = Directory.CreateTempSubdirectory("eft-download-").FullName;
    private readonly (string Name, string? Value)[] _environment;

    public DownloadCommandTests()
    {
        _server.Repos["org/tiny"] = new TestRepo(Commit, new Dictionary<string, TestFile>
        {
            ["config.json"] = new(Config),
            ["model.safetensors"] = new(new byte[3000], Lfs: true),
        });
        _server.Repos["org/pickled"] = new TestRepo(Commit, new Dictionary<string, TestFile>
        {
            ["config.json"] = new(Config),
            ["pytorch_model.bin"] = new(new byte[3000], Lfs: true),
        });
        _environment = [("HF_ENDPOINT", _server.Endpoint), ("HF_HUB_CACHE", _cache), ("HF_HUB_OFFLINE", null), ("HF_TOKEN", null)];
        for (var i = 0; i < _environment.Length; i++)
        {
            var (name, value) = _environment[i];
            _environment[i] = (name, Environment.GetEnvironmentVariable(name));
            Environment.SetEnvironmentVariable(name, value);
        }
    }

    public void Dispose()
    {
        foreach (var (name, value) in _environment) Environment.SetEnvironmentVariable(name, value);
        _server.Dispose();
        Directory.Delete(_cache, recursive: true);
    }

    private static (int Code, string Output, string Error) Eft(params string[] args)
    {
        using var error = new ErrorCapture();
        using var capture = new ConsoleCapture();
        return (EftCommand.Create().Parse(args).Invoke(), capture.Text.ToString(), error.ToString());
    }

    [Fact]
    public void Download_SaysWhichFileItIsFetching_AndPrintsTheSnapshot()
    {
        var (code, output, error) = Eft("download", "org/tiny");
        Assert.Equal(0, code);
        var snapshot = output.Trim();
        Assert.Equal(3000, File.ReadAllBytes(Path.Combine(snapshot, "model.safetensors")).Length);
        Assert.Contains("downloading 'model.safetensors' of org/tiny (3 KiB)", error);
    }

    /// <summary>On a terminal each file gets a bar with its size, and the snapshot is still the last line.</summary>
    [Fact]
    public void Download_OnATerminal_DrawsABarPerFile()
    {
        ConsoleRun.InteractiveOverride = true;
        using var error = new ErrorCapture();
        using var capture = new ConsoleCapture(terminal: true);
        try
        {
            Assert.Equal(0, EftCommand.Create().Parse(["download", "org/tiny"]).Invoke());
        }
        finally
        {
            ConsoleRun.InteractiveOverride = null;
        }
        var text = capture.Text.ToString();
        Assert.Contains("'model.safetensors' of org/tiny", text);
        Assert.Contains("KB", text);
        Assert.EndsWith(Path.Combine("snapshots", Commit), text.TrimEnd());
        Assert.Empty(error.ToString());
    }

    /// <summary>A repository with only pickled weights downloads what it can, then says the weights are not there.</summary>
    [Fact]
    public void Download_OfARepositoryWithoutSafetensors_FailsSayingSo()
    {
        var (code, _, error) = Eft("download", "org/pickled");
        Assert.Equal(2, code);
        Assert.Contains("no safetensors weights", error);
    }

    [Fact]
    public void Download_WithAnIncludeThatMatchesNothing_Fails()
    {
        var (code, _, error) = Eft("download", "org/tiny", "--include", "*.gguf");
        Assert.Equal(2, code);
        Assert.Contains("matches *.gguf", error);
    }
}
