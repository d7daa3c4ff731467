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

    /// <summary>x [B, T, C] → [B, T, C]; positions [B·T]; key mask [B·T].</summary>
    public Tensor Forward(Tensor x, int[] positions, float[] inverseFrequencies, int[] keyMask, ForwardContext context)
    {
        var (b, t) = (x.Dim(0), x.Dim(1));
        var n = InputLayerNorm.Forward(x);
        var q = Ops.Rotary(QProj.Forward(n, context).Reshape(b, t, _heads, _headDim), positions, inverseFrequencies);
        var k = Ops.Rotary(KProj.Forward(n, context).Reshape(b, t, _kvHeads, _headDim), positions, inverseFrequencies);
        var v = VProj.Forward(n, context).Reshape(b, t, _kvHeads, _headDim);
        var (rate, key) = context.AttentionDropout((float)config.AttentionDropout);
        var attended = Ops.Attention(q, k, v, keyMask, causal: true, dropout: rate, dropoutKey: key).Reshape(b, t, -1);
        var h = x + OProj.Forward(attended, context);
        var m = PostAttentionLayerNorm.Forward(h);
        var gated = Activation.Apply(config.HiddenAct, GateProj.Forward(m, context)) * UpProj.Forward(m, context);
        return h + DownProj.Forward(gated, context);
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
