using System.Text.Json.Nodes;
using EfficientFT.Models.SafeTensors;
using EfficientFT.Tensors;

namespace EfficientFT.Models.Tests.SafeTensors;

public sealed class ShardedCheckpointTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static Dictionary<string, Tensor> Model()
    {
        var rng = new Rng(3);
        return new Dictionary<string, Tensor>
        {
            ["embed.weight"] = Tensor.Normal(rng, 0, 1, 10, 4),      // 160 bytes
            ["layers.0.weight"] = Tensor.Normal(rng, 0, 1, 4, 4),    // 64
            ["layers.0.bias"] = Tensor.Normal(rng, 0, 1, 4),         // 16
            ["layers.1.weight"] = Tensor.Normal(rng, 0, 1, 4, 4),    // 64
            ["head.weight"] = Tensor.Normal(rng, 0, 1, 2, 4),        // 32
        };
    }

    [Fact]
    public void Split_FollowsHuggingFaceHubRule()
    {
        var entries = new[] { ("a", 4), ("b", 4), ("c", 10), ("d", 4) }
            .Select(p => SafeTensorsEntry.FromBytes(p.Item1, SafeTensorsDType.U8, new byte[p.Item2], p.Item2));
        var shards = SafeTensorsWriter.SplitIntoShards(entries, maxShardBytes: 8);
        // c exceeds the limit and gets a shard of its own at once, ahead of the shard still being filled.
        Assert.Equal([["c"], ["a", "b"], ["d"]], shards.Select(s => s.Select(e => e.Name).ToArray()).ToArray());
    }

    [Fact]
    public void ShardedSave_WritesShardsAndIndex_AndReadsBack()
    {
        var model = Model();
        var files = SafeTensorsWriter.SaveSharded(_dir.Path, model, new SafeTensorsSaveOptions { MaxShardBytes = 200 });

        Assert.Equal(
            ["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors", "model.safetensors.index.json"],
            files.Select(Path.GetFileName));
        var index = JsonNode.Parse(File.ReadAllText(_dir.File("model.safetensors.index.json")))!;
        Assert.Equal(336, (long)index["metadata"]!["total_size"]!);
        var weightMap = index["weight_map"]!.AsObject();
        Assert.Equal(model.Keys.Order(StringComparer.Ordinal), weightMap.Select(kv => kv.Key));
        Assert.Equal("model-00001-of-00002.safetensors", (string)weightMap["embed.weight"]!);
        Assert.Equal("model-00002-of-00002.safetensors", (string)weightMap["layers.0.weight"]!);
        Assert.Equal("model-00002-of-00002.safetensors", (string)weightMap["head.weight"]!);
        Assert.EndsWith("}\n", File.ReadAllText(_dir.File("model.safetensors.index.json")));

        using var checkpoint = SafeTensorsCheckpoint.Open(_dir.Path);
        Assert.NotNull(checkpoint.Index);
        Assert.Equal(336, checkpoint.Index!.TotalSize);
        foreach (var (name, t) in model) Assert.Equal(t.ToArray(), checkpoint.GetTensor(name).ToArray());
    }

    /// <summary>A folder holding both a single file and an index loads the single file, as transformers looks for it first.</summary>
    [Fact]
    public void ASingleFileBesideAnIndex_IsWhatLoads()
    {
        SafeTensorsWriter.SaveSharded(_dir.Path, Model(), new SafeTensorsSaveOptions { MaxShardBytes = 100 });
        var single = new Dictionary<string, Tensor> { ["only.weight"] = Tensor.Full(2f, 3) };
        SafeTensorsWriter.Save(_dir.File("model.safetensors"), single);

        using var checkpoint = SafeTensorsCheckpoint.Open(_dir.Path);
        Assert.Null(checkpoint.Index);
        Assert.Equal(["only.weight"], checkpoint.Names);
    }

    [Fact]
    public void SavingUnsharded_RemovesStaleShardsAndIndex()
    {
        SafeTensorsWriter.SaveSharded(_dir.Path, Model(), new SafeTensorsSaveOptions { MaxShardBytes = 100 });
        Assert.True(Directory.GetFiles(_dir.Path, "model-*").Length > 2);
        File.WriteAllText(_dir.File("config.json"), "{}");

        var files = SafeTensorsWriter.SaveSharded(_dir.Path, Model(), new SafeTensorsSaveOptions());

        Assert.Equal([_dir.File("model.safetensors")], files);
        Assert.Equal(["config.json", "model.safetensors"], Directory.GetFiles(_dir.Path).Select(Path.GetFileName).Order());
        using var checkpoint = SafeTensorsCheckpoint.Open(_dir.Path);
        Assert.Null(checkpoint.Index);
        Assert.Equal(5, checkpoint.LoadAll().Count);
    }

    [Fact]
    public void IndexNamingAMissingShard_IsRejected()
    {
        SafeTensorsWriter.SaveSharded(_dir.Path, Model(), new SafeTensorsSaveOptions { MaxShardBytes = 200 });
        File.Delete(_dir.File("model-00002-of-00002.safetensors"));
        var e = Assert.Throws<SafeTensorsFormatException>(() => SafeTensorsCheckpoint.Open(_dir.Path));
        Assert.Contains("model.safetensors.index.json", e.Message);
        Assert.Contains("model-00002-of-00002.safetensors", e.Message);
    }

    [Fact]
    public void IndexPlacingATensorInTheWrongShard_IsRejectedOnAccess()
    {
        SafeTensorsWriter.SaveSharded(_dir.Path, Model(), new SafeTensorsSaveOptions { MaxShardBytes = 200 });
        var indexPath = _dir.File("model.safetensors.index.json");
        var index = JsonNode.Parse(File.ReadAllText(indexPath))!;
        index["weight_map"]!["head.weight"] = "model-00001-of-00002.safetensors";
        File.WriteAllText(indexPath, index.ToJsonString());

        using var checkpoint = SafeTensorsCheckpoint.Open(_dir.Path);
        var e = Assert.Throws<SafeTensorsFormatException>(() => checkpoint.GetTensor("embed.weight"));
        Assert.Equal("head.weight", e.Tensor);
    }

    [Fact]
    public void IndexWithPathTraversal_IsRejected()
    {
        var indexPath = _dir.File("model.safetensors.index.json");
        File.WriteAllText(indexPath, "{\"metadata\":{\"total_size\":4},\"weight_map\":{\"w\":\"../outside.safetensors\"}}");
        var e = Assert.Throws<SafeTensorsFormatException>(() => SafeTensorsCheckpoint.Open(indexPath));
        Assert.Equal("w", e.Tensor);
    }

    [Fact]
    public void IndexRoundTrip_KeepsExtraMetadata()
    {
        var indexPath = _dir.File("x.safetensors.index.json");
        File.WriteAllText(indexPath, "{\"metadata\":{\"total_size\":1234.0,\"format\":\"pt\"},\"weight_map\":{\"b\":\"s2\",\"a\":\"s1\"}}");
        var index = SafeTensorsIndex.Load(indexPath);
        Assert.Equal(1234, index.TotalSize);
        Assert.Equal(["s1", "s2"], index.Files);
        index.Save(indexPath);
        Assert.Equal(
            "{\n  \"metadata\": {\n    \"format\": \"pt\",\n    \"total_size\": 1234\n  },\n  \"weight_map\": {\n    \"a\": \"s1\",\n    \"b\": \"s2\"\n  }\n}\n",
            File.ReadAllText(indexPath).Replace("\r\n", "\n"));
    }
}
