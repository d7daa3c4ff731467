using EfficientFT.Models.Configs;
using EfficientFT.Models.Nn;
using EfficientFT.Tensors;

namespace EfficientFT.Models.Roberta;

/// <summary>
/// RoBERTa with RobertaLMHead: decoder(layer_norm(gelu(dense(h)))) + bias, the decoder weight tied to the word
/// embeddings as transformers ties them. Loss: cross-entropy over the masked positions (labels −100 elsewhere).
/// </summary>
public sealed class RobertaForMaskedLM(RobertaConfig config) : PretrainedModel
{
    /// <summary>The config; an untied output layer is refused, as the head here reads the word embeddings.</summary>
    public RobertaConfig Config { get; } = config.TieWordEmbeddings ? config
        : throw new NotSupportedException("RobertaForMaskedLM with tie_word_embeddings false is not supported: its head multiplies by the word embeddings, and lm_head.decoder.weight would be ignored.");

    public RobertaModel Roberta { get; } = new(config);

    public Linear Dense { get; } = Linear.Create(config.HiddenSize, config.HiddenSize);

    public LayerNorm LayerNorm { get; } = new(config.HiddenSize, (float)config.LayerNormEps);

    public Tensor DecoderBias { get; } = Tensor.Zeros(config.VocabSize);

    public override ModelConfig ModelConfig => Config;

    protected override bool IsHeadTensor(string name) => name.StartsWith("lm_head.", StringComparison.Ordinal);

    public override string Architecture => "RobertaForMaskedLM";

    public override int LossItems(ModelBatch batch) => CountTokenTargets(batch.TokenLabels);

    public override ModelOutput Forward(ModelBatch batch, ForwardContext context)
    {
        var h = Roberta.Forward(batch, context);
        var labels = batch.TokenLabels;
        if (labels != null) (h, labels) = AtTargets(h, labels);
        h = LayerNorm.Forward(Activation.Apply("gelu", Dense.Forward(h, context)));
        var logits = Ops.Linear(h, Roberta.Embeddings.WordEmbeddings.Weight, DecoderBias);
        Tensor? loss = null;
        if (labels != null && labels.Any(l => l != -100))
            loss = Ops.CrossEntropy(logits.Reshape(-1, Config.VocabSize), labels);
        return new ModelOutput(logits, loss);
    }

    protected override bool IsIgnoredCheckpointName(string name) => name.StartsWith("roberta.pooler.", StringComparison.Ordinal)
        || name == "lm_head.decoder.weight" || name == "lm_head.decoder.bias";

    protected override IEnumerable<(string Name, Tensor Value)> OwnTensors() => [("lm_head.bias", DecoderBias)];

    protected override IEnumerable<(string Name, Module Child)> Children() =>
        [("roberta", Roberta), ("lm_head.dense", Dense), ("lm_head.layer_norm", LayerNorm)];
}
