using System.Text.Json.Nodes;

namespace EfficientFT.Bench.Tests;

public sealed class ResultsStoreTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("eft-store-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>
    /// Shards and workers append to one events.jsonl at once. Opening for append only seeks to the end, so two
    /// writers that open together write at the same offset and one line overwrites the other; every line must survive.
    /// </summary>
    [Fact]
    public void Concurrent_events_from_many_writers_all_arrive_as_whole_lines()
    {
        const int writers = 4, each = 500;
        using var start = new Barrier(writers);
        var threads = Enumerable.Range(0, writers).Select(w => new Thread(() =>
        {
            var store = new ResultsStore(_dir);
            start.SignalAndWait();
            for (var i = 0; i < each; i++) store.Event("start", $"run-{w}-{i}");
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());
        var ids = File.ReadAllLines(Path.Combine(_dir, "events.jsonl")).Select(l => JsonNode.Parse(l)!["id"]!.GetValue<string>()).ToList();
        Assert.Equal(writers * each, ids.Count);
        Assert.Equal(writers * each, ids.Distinct().Count());
    }
}
