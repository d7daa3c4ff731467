using EfficientFT.Models.SafeTensors;

namespace EfficientFT.Models.Tests.SafeTensors;

/// <summary>Files written by Python safetensors (through transformers and the fixture generator).</summary>
public sealed class SafeTensorsFixtureTests
{
    public static TheoryData<string, int> FixtureFiles() => new()
    {
        { "peft/roberta_cls__base/base/model.safetensors", 41 },
        { "peft/roberta_cls__base/expected.safetensors", 43 },
        { "peft/llama_lm__base/base/model.safetensors", 21 },
        { "peft/llama_lm__base/expected.safetensors", 23 },
        { "peft/roberta_cls__sift/expected.safetensors", 46 },
    };

    [Theory]
    [MemberData(nameof(FixtureFiles))]
    public void EveryTensor_Reads(string relative, int count)
    {
        using var file = SafeTensorsFile.Open(TestFiles.Fixture(relative.Split('/')));
        Assert.Equal("pt", file.Metadata["format"]);
        Assert.Equal(count, file.Names.Count);
        foreach (var name in file.Names)
        {
            var info = file.GetInfo(name);
            var tensor = file.GetTensor(name);
            Assert.Equal(info.Shape.Select(d => (int)d), tensor.ShapeArray());
            Assert.All(tensor.ToArray(), v => Assert.True(float.IsFinite(v), $"{name} holds {v}"));
        }
    }

    [Theory]
    [MemberData(nameof(FixtureFiles))]
    public void Rewrite_IsByteIdenticalToPython(string relative, int count)
    {
        var original = TestFiles.Fixture(relative.Split('/'));
        using var dir = new TempDirectory();
        var copy = dir.File("copy.safetensors");
        using (var file = SafeTensorsFile.Open(original))
        {
            Assert.Equal(count, file.Tensors.Count);
            var entries = file.Tensors.Select(t => SafeTensorsEntry.FromBytes(t.Name, t.DType, file.GetBytes(t.Name), [.. t.Shape]));
            SafeTensorsWriter.Save(copy, entries, file.Metadata);
        }
        Assert.Equal(File.ReadAllBytes(original), File.ReadAllBytes(copy));
    }

    [Fact]
    public void RobertaBase_HasExpectedShapesAndZeroPaddingRow()
    {
        using var file = SafeTensorsFile.Open(TestFiles.Fixture("peft", "roberta_cls__base", "base", "model.safetensors"));
        var embeddings = file.GetTensor("roberta.embeddings.word_embeddings.weight");
        Assert.Equal([120, 32], embeddings.ShapeArray());
        // padding_idx = 1: transformers initialises that row to zero.
        Assert.All(embeddings.AsSpan().Slice(32, 32).ToArray(), v => Assert.Equal(0f, v));
        Assert.Equal([64, 32], file.GetTensor("roberta.encoder.layer.1.intermediate.dense.weight").ShapeArray());
        Assert.Equal([3, 32], file.GetTensor("classifier.out_proj.weight").ShapeArray());
    }

    [Fact]
    public void SiftIndices_ReadAsInt64()
    {
        using var file = SafeTensorsFile.Open(TestFiles.Fixture("peft", "roberta_cls__sift", "expected.safetensors"));
        const string name = "sift.idx.roberta.encoder.layer.0.attention.self.query.weight";
        var info = file.GetInfo(name);
        Assert.Equal(SafeTensorsDType.I64, info.DType);
        Assert.Equal([2L, 205L], info.Shape);
        var idx = file.GetInt64(name);
        // Column j holds the (row, col) coordinates of sparse entry j in a [32, 32] weight.
        Assert.All(idx, v => Assert.InRange(v, 0, 31));
        var distinct = Enumerable.Range(0, 205).Select(j => (idx[j], idx[205 + j])).Distinct().Count();
        Assert.Equal(205, distinct);
        Assert.Equal(idx.Select(v => (float)v), file.GetTensor(name).ToArray());
        Assert.Equal(idx.Select(v => (int)v), file.GetInt32(name));
    }

    [Fact]
    public void Checkpoint_OpensFixtureDirectory()
    {
        using var checkpoint = SafeTensorsCheckpoint.Open(TestFiles.Fixture("peft", "llama_lm__base", "base"));
        Assert.Null(checkpoint.Index);
        Assert.Equal(21, checkpoint.Names.Count);
        Assert.Equal([120, 32], checkpoint.GetTensor("model.embed_tokens.weight").ShapeArray());
        Assert.Equal([16, 32], checkpoint.GetTensor("model.layers.0.self_attn.k_proj.weight").ShapeArray());
    }
}
