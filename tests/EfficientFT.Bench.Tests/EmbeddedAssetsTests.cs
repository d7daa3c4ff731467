namespace EfficientFT.Bench.Tests;

/// <summary>
/// What assets/default/PROVENANCE.md promises about the shipped task sets (and `eft bench` relies on): each task reads
/// with its own description, every split is balanced over the task's labels, and no text is in both splits.
/// </summary>
public class EmbeddedAssetsTests
{
    public static readonly TheoryData<string, int> Tasks = new() { { "imdb", 2 }, { "spam", 2 }, { "brown", 5 } };

    internal static string Assets
    {
        get
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
                if (File.Exists(Path.Combine(dir.FullName, "EfficientFT.slnx"))) return Path.Combine(dir.FullName, "assets", "default");
            throw new DirectoryNotFoundException("the repository root (EfficientFT.slnx) is not above the test binaries.");
        }
    }

    [Theory]
    [MemberData(nameof(Tasks))]
    public void Task_reads_balanced_with_disjoint_splits(string name, int labels)
    {
        var data = new TaskCatalog(Assets, glueDirectory: null).Load(name);
        Assert.Equal(labels, data.Task.LabelCount);
        var validation = Assert.Single(data.Evaluation).Examples;
        foreach (var split in new[] { data.Train, validation })
        {
            var counts = split.GroupBy(e => (int)e.Label).ToDictionary(g => g.Key, g => g.Count());
            Assert.Equal(Enumerable.Range(0, labels), counts.Keys.Order());
            Assert.Single(counts.Values.Distinct());
            Assert.All(split, e => Assert.False(string.IsNullOrWhiteSpace(e.First)));
        }
        Assert.Empty(data.Train.Select(e => e.First).Intersect(validation.Select(e => e.First)));
    }
}
