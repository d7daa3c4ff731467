using EfficientFT.Models;
using EfficientFT.Peft;
using EfficientFT.Training.Optimizers;

namespace EfficientFT.Training.Tests;

/// <summary>Weight decay as transformers' Trainer applies it: not to biases nor to normalisation weights.</summary>
public sealed class ParameterGroupsTests
{
    [Theory]
    [InlineData("roberta.encoder.layer.0.output.LayerNorm.weight", false)]
    [InlineData("roberta.encoder.layer.0.output.LayerNorm.bias", false)]
    [InlineData("model.layers.3.input_layernorm.weight", false)]
    [InlineData("model.layers.3.post_attention_layernorm.weight", false)]
    [InlineData("model.norm.weight", false)]
    [InlineData("classifier.out_proj.bias", false)]
    [InlineData("classifier.out_proj.weight", true)]
    [InlineData("base_model.model.roberta.encoder.layer.0.attention.self.query.lora_A.weight", true)]
    [InlineData("model.layers.3.mlp.down_proj.weight", true)]
    public void Decays_AllButBiasesAndNormWeights(string name, bool decays) => Assert.Equal(decays, ParameterGroups.Decays(name));

    [Fact]
    public void WithWeightDecay_BiasesGetGroupsOfTheirOwnAtTheSameRate()
    {
        var dir = Path.Combine(AppContext.BaseDirectory, "fixtures", "peft", "roberta_cls__base", "base");
        var (model, _) = Pretrained.Load(dir);
        var peft = PeftModel.Create(model, new PeftOptions { Method = "lora", Targets = TargetSpec.Parse("q,v") });
        var groups = ParameterGroups.Build(peft.Trainable, 1e-3, valueRatio: 4, weightDecay: 0.1);

        foreach (var p in peft.Trainable)
        {
            var group = Assert.Single(groups, g => g.Tensors.Any(t => ReferenceEquals(t, p.Value)));
            Assert.Equal(p.Name.Contains("bias") ? 0 : 0.1, group.WeightDecay);
            Assert.Equal(p.Role == ProjectionRole.Value ? 4e-3 : 1e-3, group.LearningRate, 12);
        }
        Assert.Contains(peft.Trainable, p => p.Name.Contains("bias"));
        Assert.Single(ParameterGroups.Build(peft.Trainable, 1e-3), g => g.WeightDecay == 0);
    }
}
