using EfficientFT.Models.Configs;
using EfficientFT.Models.Nn;
using EfficientFT.Tensors;

namespace EfficientFT.Models.Llama;

/// <summary>
/// One pre-norm decoder layer (LlamaDecoderLayer):
/// h = x + Wo·attn(rope(Wq n), rope(Wk n), Wv n) with n = rms(x); y = h + W_down(silu(W_gate m) ⊙ W_up m) with m = rms(h).
/// </summary>
public sealed class LlamaDecoderLayer(LlamaConfig config) : Module
{
    private readonly int _heads = config.NumAttentionHeads;
    private readonly int _kvHeads = config.NumKeyValueHeads;
    private readonly int _headDim = config.HeadDim;

    public RmsNorm InputLayerNorm { get; } = new(config.HiddenSize, (float)config.RmsNormEps);

    public Linear QProj { get; set; } = Linear.Create(config.HiddenSize, config.NumAttentionHeads * config.HeadDim, config.AttentionBias);

    public Linear KProj { get; set; } = Linear.Create(config.HiddenSize, config.NumKeyValueHeads * config.HeadDim, config.AttentionBias);

    public Linear VProj { get; set; } = Linear.Create(config.HiddenSize, config.NumKeyValueHeads * config.HeadDim, config.AttentionBias);

    public Linear OProj { get; set; } = Linear.Create(config.NumAttentionHeads * config.HeadDim, config.HiddenSize, config.AttentionBias);

    public RmsNorm PostAttentionLayerNorm { get; } = new(config.HiddenSize, (float)config.RmsNormEps);

    public Linear GateProj { get; set; } = Linear.Create(config.HiddenSize, config.IntermediateSize, config.MlpBias);

    public Linear UpProj { get; set; } = Linear.Create(config.HiddenSize, config.IntermediateSize, config.MlpBias);

    public Linear DownProj { get; set; } = Linear.Create(config.IntermediateSize, config.HiddenSize, config.MlpBias);

    /// <summary>x [B, T, C] → [B, T, C], or [B, 1, C] with <paramref name="queryRows"/>; positions [B·T]; key mask [B·T].</summary>
    /// <param name="queryRows">
    /// Compute only these rows of x flattened to [B·T, C], one per sequence in batch order, for a head that reads
    /// nothing else: keys and values still come from every position, but each query sees the keys up to its own
    /// position, as the causal mask lets it, and the MLP runs on one row per sequence.
    /// </param>
    public Tensor Forward(Tensor x, int[] positions, float[] inverseFrequencies, int[] keyMask, ForwardContext context,
        int[]? queryRows = null)
    {
        var (b, t) = (x.Dim(0), x.Dim(1));
        var n = InputLayerNorm.Forward(x);
        var k = Ops.Rotary(KProj.Forward(n, context).Reshape(b, t, _kvHeads, _headDim), positions, inverseFrequencies);
        var v = VProj.Forward(n, context).Reshape(b, t, _kvHeads, _headDim);
        var (rows, queries, queryPositions, queryMask) = queryRows == null
            ? (x, n, positions, keyMask)
            : (SelectRows(x, queryRows), SelectRows(n, queryRows), queryRows.Select(r => r % t).ToArray(), CausalKeyMask(keyMask, queryRows, t));
        var tq = rows.Dim(1);
        var q = Ops.Rotary(QProj.Forward(queries, context).Reshape(b, tq, _heads, _headDim), queryPositions, inverseFrequencies);
        var (rate, key) = context.AttentionDropout((float)config.AttentionDropout);
        // One query per sequence carries its causal limit in its key mask, since the causal rule aligns the last
        // query with the last key.
        var attended = Ops.Attention(q, k, v, queryMask, causal: queryRows == null, dropout: rate, dropoutKey: key).Reshape(b, tq, -1);
        var h = rows + OProj.Forward(attended, context);
        var m = PostAttentionLayerNorm.Forward(h);
        var gated = Activation.Apply(config.HiddenAct, GateProj.Forward(m, context)) * UpProj.Forward(m, context);
        return h + DownProj.Forward(gated, context);
    }

    /// <summary>Rows of x [B, T, C] flattened to [B·T, C], one per sequence, as [B, 1, C].</summary>
    internal static Tensor SelectRows(Tensor x, int[] rows)
    {
        var c = x.Dim(2);
        return Ops.Gather(x, rows.SelectMany(r => Enumerable.Range(r * c, c)).ToArray()).Reshape(rows.Length, 1, c);
    }

    /// <summary>The key mask with every key after sequence b's query row also masked.</summary>
    private static int[] CausalKeyMask(int[] keyMask, int[] queryRows, int t)
    {
        var mask = new int[keyMask.Length];
        for (var b = 0; b < queryRows.Length; b++)
        for (var s = 0; s <= queryRows[b] % t; s++)
            mask[b * t + s] = keyMask[b * t + s];
        return mask;
    }

    protected override IEnumerable<(string Name, Module Child)> Children() =>
    [
        ("input_layernorm", InputLayerNorm),
        ("self_attn.q_proj", QProj),
        ("self_attn.k_proj", KProj),
        ("self_attn.v_proj", VProj),
        ("self_attn.o_proj", OProj),
        ("post_attention_layernorm", PostAttentionLayerNorm),
        ("mlp.gate_proj", GateProj),
        ("mlp.up_proj", UpProj),
        ("mlp.down_proj", DownProj),
    ];
}
