using EfficientFT.Models.Configs;
using EfficientFT.Models.Nn;
using EfficientFT.Tensors;

namespace EfficientFT.Models.Roberta;

/// <summary>The RoBERTa encoder body: embeddings then N post-LN layers (no pooler; the heads here never use it).</summary>
public sealed class RobertaModel(RobertaConfig config) : Module
{
    public RobertaConfig Config { get; } = config;

    public RobertaEmbeddings Embeddings { get; } = new(config);

    public IReadOnlyList<RobertaLayer> Layers { get; } =
        Enumerable.Range(0, config.NumHiddenLayers).Select(_ => new RobertaLayer(config)).ToArray();

    /// <summary>Token ids [B, T] → hidden states [B, T, C].</summary>
    public Tensor Forward(ModelBatch batch, ForwardContext context)
    {
        batch.Validate();
        var h = Embeddings.Forward(batch, context);
        foreach (var layer in Layers) h = layer.Forward(h, batch.AttentionMask, context);
        return h;
    }

    protected override IEnumerable<(string Name, Module Child)> Children() =>
        Layers.Select((layer, i) => ($"encoder.layer.{i}", (Module)layer)).Prepend(("embeddings", Embeddings));
}
