using EfficientFT.Tensors;

namespace EfficientFT.Models.Nn;

/// <summary>
/// What a forward pass needs besides its inputs: whether dropout is active, and the generator its masks come from.
/// Evaluation uses <see cref="Inference"/>, which never draws.
/// </summary>
public sealed class ForwardContext(bool training, Rng rng)
{
    public static ForwardContext Inference { get; } = new(false, new Rng(0));

    /// <summary>Inference in which every layer computes every position; see <see cref="EveryPosition"/>.</summary>
    public static ForwardContext Observation { get; } = new(false, new Rng(0)) { EveryPosition = true };

    /// <summary>
    /// Whether every layer computes every position. Off, a head that reads one position per sequence (RoBERTa's
    /// classifier the first, LLaMA's the last before padding) has the last layer compute only that one, which changes
    /// no logit, loss or gradient. Callers that observe what layers see, such as EVA's input statistics, need it on.
    /// </summary>
    public bool EveryPosition { get; init; }

    public bool Training { get; } = training;

    public Rng Rng { get; } = rng;

    /// <summary>
    /// Keep only each layer's input for backward and compute the layer again there (gradient checkpointing), so a
    /// step holds one layer's activations at a time instead of every layer's, for about one more forward pass.
    /// </summary>
    public bool GradientCheckpointing { get; init; }

    /// <summary>
    /// layer(x, context), as one checkpointed segment with <see cref="GradientCheckpointing"/>: its rerun in backward
    /// draws the same dropout masks from a copy of the generator as it stood before the layer.
    /// </summary>
    public Tensor Layer(Tensor x, Func<Tensor, ForwardContext, Tensor> layer)
    {
        if (!GradientCheckpointing) return layer(x, this);
        var before = Rng.Copy();
        return Ops.Checkpoint(x, input => layer(input, this),
            input => layer(input, new ForwardContext(Training, before.Copy()) { EveryPosition = EveryPosition }));
    }

    /// <summary>Dropout when training with p &gt; 0, identity otherwise.</summary>
    public Tensor Dropout(Tensor x, float p) => Training && p > 0 ? Ops.Dropout(x, p, Rng) : x;

    /// <summary>residual + Dropout(x, p), fused when dropout is active (the same mask as Dropout then an add).</summary>
    public Tensor DropoutAdd(Tensor x, Tensor residual, float p) => Training && p > 0 ? Ops.DropoutAdd(x, residual, p, Rng) : residual + x;

    /// <summary>The attention-probability dropout rate and mask key for one attention call.</summary>
    public (float Rate, ulong Key) AttentionDropout(float p) => Training && p > 0 ? (p, Rng.NextUInt64()) : (0f, 0UL);
}
