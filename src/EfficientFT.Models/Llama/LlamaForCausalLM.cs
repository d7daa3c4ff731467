using EfficientFT.Models.Configs;
using EfficientFT.Models.Nn;
using EfficientFT.Tensors;

namespace EfficientFT.Models.Llama;

/// <summary>
/// LLaMA with a language-model head. The loss is next-token cross-entropy: logits at t predict labels at t + 1,
/// labels −100 are ignored, the mean is over the counted targets (transformers' ForCausalLMLoss).
/// </summary>
public sealed class LlamaForCausalLM(LlamaConfig config) : PretrainedModel
{
    public LlamaConfig Config { get; } = config;

    public LlamaModel Model { get; } = new(config);

    /// <summary>The output projection [V, C]; the embedding matrix itself when tie_word_embeddings is set.</summary>
    public Linear LmHead { get; set; } = new(Tensor.Zeros(config.VocabSize, config.HiddenSize), null);

    public override ModelConfig ModelConfig => Config;

    public override string? PeftTaskType => "CAUSAL_LM";

    public override string Architecture => "LlamaForCausalLM";

    public override ModelOutput Forward(ModelBatch batch, ForwardContext context)
    {
        var h = Model.Forward(batch, context);
        var weight = Config.TieWordEmbeddings ? Model.EmbedTokens.Weight : LmHead.Weight;
        var logits = Ops.Linear(h, weight);
        Tensor? loss = null;
        if (batch.TokenLabels is { } labels)
        {
            var shifted = new int[labels.Length];
            for (var i = 0; i < labels.Length; i++)
                shifted[i] = i % batch.Length == batch.Length - 1 ? -100 : labels[i + 1];
            loss = Ops.CrossEntropy(logits.Reshape(-1, Config.VocabSize), shifted);
        }
        return new ModelOutput(logits, loss);
    }

    protected override bool IsIgnoredCheckpointName(string name) =>
        Config.TieWordEmbeddings && name == "lm_head.weight";

    protected override IEnumerable<(string Name, Module Child)> Children() =>
        Config.TieWordEmbeddings ? [("model", Model)] : [("model", Model), ("lm_head", LmHead)];
}
