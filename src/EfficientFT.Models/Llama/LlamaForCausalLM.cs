using EfficientFT.Models.Configs;
using EfficientFT.Models.Nn;
using EfficientFT.Tensors;

namespace EfficientFT.Models.Llama;

/// <summary>
/// LLaMA with a language-model head. The loss is next-token cross-entropy: logits at t predict labels at t + 1,
/// labels −100 are ignored, the mean is over the counted targets (transformers' ForCausalLMLoss).
/// </summary>
public sealed class LlamaForCausalLM : PretrainedModel
{
    public LlamaForCausalLM(LlamaConfig config)
    {
        Config = config;
        Model = new LlamaModel(config);
        // Tied, the head is the embedding table itself: a [V, C] matrix of its own would be a second copy of the
        // largest tensor of a small LLaMA (1 GB for Llama-3.2-1B's 128 k words), never read.
        LmHead = new Linear(config.TieWordEmbeddings ? Model.EmbedTokens.Weight : Tensor.Zeros(config.VocabSize, config.HiddenSize), null);
    }

    public LlamaConfig Config { get; }

    public LlamaModel Model { get; }

    /// <summary>The output projection [V, C]; the embedding matrix itself when tie_word_embeddings is set.</summary>
    public Linear LmHead { get; set; }

    public override ModelConfig ModelConfig => Config;

    public override string? PeftTaskType => "CAUSAL_LM";

    public override string Architecture => "LlamaForCausalLM";

    public override int LossItems(ModelBatch batch) => CountTokenTargets(Shifted(batch));

    public override ModelOutput Forward(ModelBatch batch, ForwardContext context)
    {
        var h = Model.Forward(batch, context);
        var targets = Shifted(batch);
        if (targets != null) (h, targets) = AtTargets(h, targets);
        var logits = LmHead.Forward(h, context);
        var loss = targets != null ? Ops.CrossEntropy(logits.Reshape(-1, Config.VocabSize), targets) : null;
        return new ModelOutput(logits, loss);
    }

    /// <summary>Position t's target is the label of t + 1; the last position of each row has none (−100).</summary>
    private static int[]? Shifted(ModelBatch batch)
    {
        if (batch.TokenLabels is not { } labels) return null;
        var shifted = new int[labels.Length];
        for (var i = 0; i < labels.Length; i++)
            shifted[i] = i % batch.Length == batch.Length - 1 ? -100 : labels[i + 1];
        return shifted;
    }

    protected override bool IsIgnoredCheckpointName(string name) =>
        Config.TieWordEmbeddings && name == "lm_head.weight";

    protected override IEnumerable<(string Name, Module Child)> Children() =>
        Config.TieWordEmbeddings ? [("model", Model)] : [("model", Model), ("lm_head", LmHead)];
}
