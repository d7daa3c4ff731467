namespace EfficientFT.Models.Configs;

/// <summary>The RoPE variants transformers names in <c>rope_scaling.rope_type</c> (formerly <c>type</c>).</summary>
public enum RopeType
{
    /// <summary>"default": plain RoPE, inv_freq = theta^(-2i/d).</summary>
    Default,

    /// <summary>"linear": position interpolation, every frequency divided by the factor.</summary>
    Linear,

    /// <summary>"dynamic": NTK scaling that depends on the current sequence length.</summary>
    Dynamic,

    /// <summary>"yarn".</summary>
    Yarn,

    /// <summary>"longrope" (Phi-3).</summary>
    LongRope,

    /// <summary>"llama3": Llama 3.1's piecewise frequency scaling.</summary>
    Llama3,
}
