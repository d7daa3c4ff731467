namespace EfficientFT.Bench.Tests;

public class RunSettingsTests
{
    private static RunSettings Sample() => new()
    {
        Model = "embedded", Task = "imdb", Method = "lora", Targets = "q,v", Rank = 8, Alpha = 16, Lambda = 2,
        LearningRate = 1e-3, Seed = 1, Epochs = 2, BatchSize = 16, MaxLength = 128, Schedule = "linear",
        WarmupRatio = 0.06, WeightDecay = 0,
    };

    [Fact]
    public void Id_is_stable_and_changes_with_every_setting()
    {
        var a = Sample();
        Assert.Equal(a.Id, (a with { }).Id);
        var variants = new[]
        {
            a with { Seed = 2 }, a with { Lambda = 4 }, a with { LearningRate = 2e-3 }, a with { Targets = "q,k,v" },
            a with { MaxSteps = 10 }, a with { MethodOptions = new Dictionary<string, string> { ["mpc"] = "orthogonal:0.1" } },
        };
        Assert.Equal(variants.Length + 1, variants.Select(v => v.Id).Append(a.Id).Distinct().Count());
        Assert.Matches("^[A-Za-z0-9._-]+$", (a with { Task = "my task/x" }).Id);
    }

    [Fact]
    public void Method_options_order_does_not_change_the_id()
    {
        var one = Sample() with { MethodOptions = new Dictionary<string, string> { ["a"] = "1", ["b"] = "2" } };
        var two = Sample() with { MethodOptions = new Dictionary<string, string> { ["b"] = "2", ["a"] = "1" } };
        Assert.Equal(one.Id, two.Id);
    }

    [Fact]
    public void Record_round_trips_through_json_with_a_nan_loss()
    {
        var path = Path.Combine(Path.GetTempPath(), $"eft-record-{Guid.NewGuid():N}.json");
        var record = new RunRecord
        {
            Id = Sample().Id, Settings = Sample(), Status = RunStatus.Diverged, CodeVersion = "abc",
            Losses = [0.7f, float.NaN], Scores = new Dictionary<string, double> { ["accuracy"] = 0.5 },
        };
        RunRecordJson.Write(path, record);
        var back = RunRecordJson.Read(path);
        File.Delete(path);
        Assert.Equal(record.Id, back.Id);
        Assert.Equal(record.Settings.Id, back.Settings.Id);
        Assert.True(float.IsNaN(back.Losses[1]));
        Assert.Equal(0.5, back.Scores["accuracy"]);
    }

    /// <summary>Merge, the grid and the report all key runs by id, so a record without one is refused by file.</summary>
    [Fact]
    public void Record_with_a_null_id_is_refused_naming_the_file()
    {
        var path = Path.Combine(Path.GetTempPath(), $"eft-record-{Guid.NewGuid():N}.json");
        RunRecordJson.Write(path, new RunRecord { Id = Sample().Id, Settings = Sample(), Status = RunStatus.Completed, CodeVersion = "abc" });
        File.WriteAllText(path, File.ReadAllText(path).Replace($"\"{Sample().Id}\"", "null", StringComparison.Ordinal));
        try
        {
            var error = Assert.Throws<InvalidDataException>(() => RunRecordJson.Read(path));
            Assert.Contains(path, error.Message);
            Assert.Contains("no id", error.Message);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
