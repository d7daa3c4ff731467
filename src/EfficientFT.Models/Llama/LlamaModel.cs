using EfficientFT.Models.Configs;
using EfficientFT.Models.Nn;
using EfficientFT.Tensors;

namespace EfficientFT.Models.Llama;

/// <summary>The LLaMA decoder body: token embeddings, N pre-norm layers, final RMSNorm.</summary>
public sealed class LlamaModel(LlamaConfig config) : Module
{
    private readonly float[] _inverseFrequencies = config.RopeInverseFrequencies();

    public LlamaConfig Config { get; } = config;

    public Embedding EmbedTokens { get; } = new(config.VocabSize, config.HiddenSize, config.PadTokenId);

    public IReadOnlyList<LlamaDecoderLayer> Layers { get; } =
        Enumerable.Range(0, config.NumHiddenLayers).Select(_ => new LlamaDecoderLayer(config)).ToArray();

    public RmsNorm Norm { get; } = new(config.HiddenSize, (float)config.RmsNormEps);

    /// <summary>
    /// Token ids [B, T] → hidden states [B, T, C], or [B, 1, C] with <paramref name="queryRows"/>. Positions are
    /// 0..T−1 in every row, as transformers uses without a cache (right padding); padded keys are masked out of attention.
    /// </summary>
    /// <param name="queryRows">Return only these rows (b·T + t, one per sequence), which lets the last layer skip the others.</param>
    public Tensor Forward(ModelBatch batch, ForwardContext context, int[]? queryRows = null)
    {
        batch.Validate();
        if (Config.SlidingWindow is { } window && batch.Length > window)
            throw new NotSupportedException($"{Config.ModelType}: rows of {batch.Length} tokens exceed the sliding window of {window}, which attention here does not implement (every key would be seen, not the last {window}).");
        var positions = new int[batch.Batch * batch.Length];
        for (var i = 0; i < positions.Length; i++) positions[i] = i % batch.Length;
        var h = EmbedTokens.Forward(batch.InputIds, batch.Shape);
        for (var i = 0; i < Layers.Count; i++)
        {
            var (layer, rows) = (Layers[i], i == Layers.Count - 1 ? queryRows : null);
            h = context.Layer(h, (x, c) => layer.Forward(x, positions, _inverseFrequencies, batch.AttentionMask, c, rows));
        }
        return Norm.Forward(h);
    }

    protected override IEnumerable<(string Name, Module Child)> Children() =>
        Layers.Select((layer, i) => ($"layers.{i}", (Module)layer)).Prepend(("embed_tokens", EmbedTokens)).Append(("norm", Norm));
}
