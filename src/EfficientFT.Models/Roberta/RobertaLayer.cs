using EfficientFT.Models.Configs;
using EfficientFT.Models.Nn;
using EfficientFT.Tensors;

namespace EfficientFT.Models.Roberta;

/// <summary>
/// One post-LN encoder layer (RobertaLayer):
/// a = LN(x + drop(Wo·attn(Wq x, Wk x, Wv x))); y = LN(a + drop(W2·gelu(W1 a))).
/// </summary>
public sealed class RobertaLayer(RobertaConfig config) : Module
{
    private readonly int _heads = config.NumAttentionHeads;
    private readonly int _headDim = config.HiddenSize / config.NumAttentionHeads;
    private readonly float _hiddenDropout = (float)config.HiddenDropoutProb;
    private readonly float _attentionDropout = (float)config.AttentionProbsDropoutProb;

    public Linear Query { get; set; } = Linear.Create(config.HiddenSize, config.HiddenSize);

    public Linear Key { get; set; } = Linear.Create(config.HiddenSize, config.HiddenSize);

    public Linear Value { get; set; } = Linear.Create(config.HiddenSize, config.HiddenSize);

    public Linear AttentionOutput { get; set; } = Linear.Create(config.HiddenSize, config.HiddenSize);

    public LayerNorm AttentionLayerNorm { get; } = new(config.HiddenSize, (float)config.LayerNormEps);

    public Linear Intermediate { get; set; } = Linear.Create(config.HiddenSize, config.IntermediateSize);

    public Linear Output { get; set; } = Linear.Create(config.IntermediateSize, config.HiddenSize);

    public LayerNorm OutputLayerNorm { get; } = new(config.HiddenSize, (float)config.LayerNormEps);

    /// <summary>x [B, T, C], key mask [B·T] → [B, T, C], or [B, 1, C] with <paramref name="firstPositionOnly"/>.</summary>
    /// <param name="firstPositionOnly">
    /// Compute position 0 only, for a head that reads nothing else: keys and values still come from every position,
    /// but queries, the attention output and the feed-forward block run on one row per sequence.
    /// </param>
    public Tensor Forward(Tensor x, int[] keyMask, ForwardContext context, bool firstPositionOnly = false)
    {
        var (b, t) = (x.Dim(0), x.Dim(1));
        var rows = firstPositionOnly ? Ops.Slice(x, 1, 0, 1) : x;
        var tq = rows.Dim(1);
        var q = Query.Forward(rows, context).Reshape(b, tq, _heads, _headDim);
        var k = Key.Forward(x, context).Reshape(b, t, _heads, _headDim);
        var v = Value.Forward(x, context).Reshape(b, t, _heads, _headDim);
        var (rate, key) = context.AttentionDropout(_attentionDropout);
        var attended = Ops.Attention(q, k, v, keyMask, dropout: rate, dropoutKey: key).Reshape(b, tq, -1);
        var a = AttentionLayerNorm.Forward(context.DropoutAdd(AttentionOutput.Forward(attended, context), rows, _hiddenDropout));
        var h = Activation.Apply(config.HiddenAct, Intermediate.Forward(a, context));
        return OutputLayerNorm.Forward(context.DropoutAdd(Output.Forward(h, context), a, _hiddenDropout));
    }

    protected override IEnumerable<(string Name, Module Child)> Children() =>
    [
        ("attention.self.query", Query),
        ("attention.self.key", Key),
        ("attention.self.value", Value),
        ("attention.output.dense", AttentionOutput),
        ("attention.output.LayerNorm", AttentionLayerNorm),
        ("intermediate.dense", Intermediate),
        ("output.dense", Output),
        ("output.LayerNorm", OutputLayerNorm),
    ];
}
