using EfficientFT.Models;
using EfficientFT.Models.Configs;

namespace EfficientFT.Training.Tests;

public class FrozenWeightPackingTests
{
    /// <summary>A two-layer Llama whose output layer reads the embedding table, with every tensor frozen.</summary>
    private static PretrainedModel TiedLlama()
    {
        var config = LlamaConfig.Default() with
        {
            VocabSize = 64, HiddenSize = 32, NumHiddenLayers = 2, NumAttentionHeads = 4, NumKeyValueHeads = 2, HeadDim = 8,
            IntermediateSize = 48, TieWordEmbeddings = true,
        };
        var model = Pretrained.Create(config, "LlamaForCausalLM");
        model.SetTrainable(false);
        return model;
    }

    [Fact]
    public void FrozenLinearWeights_AreTheProjections_NotATiedEmbedding()
    {
        var model = TiedLlama();
        var weights = model.FrozenLinearWeights();
        // Seven projections per layer: q, k, v, o, gate, up, down.
        Assert.Equal(14, weights.Count);
        var embedding = model.NamedTensors().Single(p => p.Name.EndsWith("embed_tokens.weight", StringComparison.Ordinal)).Value;
        Assert.DoesNotContain(embedding, weights);
        Assert.All(weights, t => Assert.Equal(2, t.Rank));
    }

    [Fact]
    public void Auto_PacksOnlyAboveTheRowLimitOnSeveralThreads_OnAndOffDoAsTheySay()
    {
        var model = TiedLlama();
        var bytes = model.FrozenLinearWeights().Sum(t => 4L * t.Size);
        Assert.Equal(0, FrozenWeightPacking.Apply(model, PackedWeights.Off, 4096, 2).Bytes);
        var (none, why) = FrozenWeightPacking.Apply(model, PackedWeights.Auto, 512, 2);
        Assert.Equal(0, none);
        Assert.Contains("512 rows", why);
        Assert.Equal(0, FrozenWeightPacking.Apply(model, PackedWeights.Auto, 4096, 1).Bytes);
        Assert.DoesNotContain(model.NamedTensors(), p => p.Value.IsPacked);

        Assert.Equal(bytes, FrozenWeightPacking.Apply(model, PackedWeights.Auto, 513, 2).Bytes);
        Assert.Equal(14, model.NamedTensors().Count(p => p.Value.IsPacked));
        // Nothing is left to pack the second time.
        Assert.Equal((0L, "no frozen float32 linear weights"), FrozenWeightPacking.Apply(model, PackedWeights.Auto, 1024, 2));
        Assert.Equal((0L, "no frozen float32 linear weights"), FrozenWeightPacking.Apply(model, PackedWeights.On, 1024, 1));

        var small = TiedLlama();
        Assert.Equal(bytes, FrozenWeightPacking.Apply(small, PackedWeights.On, 1, 1).Bytes);
    }

    [Theory]
    [InlineData("auto", PackedWeights.Auto)]
    [InlineData("ON", PackedWeights.On)]
    [InlineData("off", PackedWeights.Off)]
    public void Parse_TakesTheThreeSettings(string text, PackedWeights expected) =>
        Assert.Equal(expected, FrozenWeightPacking.Parse(text, "--packed-weights"));

    [Theory]
    [InlineData("yes")]
    [InlineData("1")]
    [InlineData("")]
    [InlineData("auto,on")]
    public void Parse_RefusesAnythingElse(string text) =>
        Assert.Contains("--packed-weights", Assert.Throws<ArgumentException>(() => FrozenWeightPacking.Parse(text, "--packed-weights")).Message);
}
