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

    /// <summary>Token ids [B, T] → hidden states [B, T, C], or [B, 1, C] with <paramref name="firstPositionOnly"/>.</summary>
    /// <param name="firstPositionOnly">Return position 0 only, which lets the last layer skip the other positions.</param>
    public Tensor Forward(ModelBatch batch, ForwardContext context, bool firstPositionOnly = false)
    {
        batch.Validate();
        var h = Embeddings.Forward(batch, context);
        for (var i = 0; i < Layers.Count; i++)
        {
            var (layer, firstOnly) = (Layers[i], firstPositionOnly && i == Layers.Count - 1);
            h = context.Layer(h, (x, c) => layer.Forward(x, batch.AttentionMask, c, firstOnly));
        }
        return h;
    }

    protected override IEnumerable<(string Name, Module Child)> Children() =>
        Layers.Select((layer, i) => ($"encoder.layer.{i}", (Module)layer)).Prepend(("embeddings", Embeddings));
}
