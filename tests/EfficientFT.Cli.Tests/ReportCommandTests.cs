using EfficientFT.Bench;
using EfficientFT.Cli.Commands;

namespace EfficientFT.Cli.Tests;

/// <summary>`eft report`: merges shards into --out, and a bad run file ends with one error line naming it, exit 2.</summary>
[Collection("console")]
public sealed class ReportCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("eft-report-cli-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static (int Code, string Error) Eft(params string[] args)
    {
        using var error = new ErrorCapture();
        return (EftCommand.Create().Parse(args).Invoke(), error.ToString());
    }

    private void WriteRun(string shard, ulong seed, double headline)
    {
        var s = new RunSettings
        {
            Model = "embedded", Task = "rte", Method = "lora", Targets = "q,v", Rank = 8, Alpha = 16, Lambda = 1, LearningRate = 1e-3,
            Seed = seed, Epochs = 1, BatchSize = 8, MaxLength = 64, Schedule = "linear", WarmupRatio = 0, WeightDecay = 0,
        };
        RunRecordJson.Write(Path.Combine(_dir, shard, "runs", s.Id + ".json"), new RunRecord
        {
            Id = s.Id, Settings = s, Status = RunStatus.Completed, CodeVersion = "abc", HeadlineMetric = "accuracy", Headline = headline,
            TrainableParameters = 1000, TrainableShare = 0.01, Losses = [0.7f, 0.5f],
        });
    }

    [Fact]
    public void Report_MergesShardsIntoOut()
    {
        WriteRun("a", 0, 0.70);
        WriteRun("b", 1, 0.80);
        var (code, error) = Eft("report", Path.Combine(_dir, "a"), Path.Combine(_dir, "b"), "--out", Path.Combine(_dir, "out"));
        Assert.True(code == 0, error);
        var md = File.ReadAllText(Path.Combine(_dir, "out", "report.md"));
        Assert.Contains("**75.00 ± 7.07**", md);
        Assert.True(File.Exists(Path.Combine(_dir, "out", "report.html")));
        Assert.Empty(Directory.GetFiles(Path.Combine(_dir, "out"), "*.tmp"));
    }

    /// <summary>As in `eft bench`, a run file that does not read is left out with a warning naming it; the rest is reported.</summary>
    [Fact]
    public void Report_MalformedRunFile_IsLeftOutNamingIt()
    {
        WriteRun("a", 0, 0.70);
        var bad = Path.Combine(_dir, "a", "runs", "zz-broken.json");
        File.WriteAllText(bad, "not json");
        var (code, error) = Eft("report", Path.Combine(_dir, "a"));
        Assert.Equal(0, code);
        Assert.StartsWith("eft: warning: ", error);
        Assert.Contains(bad, error);
        Assert.True(File.Exists(Path.Combine(_dir, "a", "report.md")));
    }

    [Fact]
    public void Report_WithOnlyMalformedRunFiles_FailsNamingThem()
    {
        Directory.CreateDirectory(Path.Combine(_dir, "a", "runs"));
        var bad = Path.Combine(_dir, "a", "runs", "zz-broken.json");
        File.WriteAllText(bad, "not json");
        var (code, error) = Eft("report", Path.Combine(_dir, "a"));
        Assert.Equal(2, code);
        Assert.Contains(bad, error);
        Assert.Contains("eft: error: ", error);
        Assert.False(File.Exists(Path.Combine(_dir, "a", "report.md")));
    }
}
