using System.Text.Json.Nodes;

namespace EfficientFT.Models.Configs;

/// <summary>
/// The <c>rope_scaling</c> block of a LLaMA-family config, e.g. Llama 3.1's
/// <c>{"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
/// "original_max_position_embeddings": 8192}</c>.
/// </summary>
public sealed record RopeScaling
{
    public required RopeType Type { get; init; }

    /// <summary>The context extension factor (8 for Llama 3.1).</summary>
    public double Factor { get; init; } = 1;

    /// <summary>llama3: wavelengths longer than original_max_position_embeddings / this are fully scaled (1 for Llama 3.1).</summary>
    public double? LowFreqFactor { get; init; }

    /// <summary>llama3: wavelengths shorter than original_max_position_embeddings / this are left alone (4 for Llama 3.1).</summary>
    public double? HighFreqFactor { get; init; }

    /// <summary>The context length the model was pre-trained with (8192 for Llama 3.1).</summary>
    public int? OriginalMaxPositionEmbeddings { get; init; }

    /// <summary>The block as read, so keys this type does not model (yarn's beta_fast, ...) survive a rewrite.</summary>
    internal JsonObject? Source { get; init; }

    internal static string Name(RopeType type) => type switch
    {
        RopeType.Default => "default",
        RopeType.Linear => "linear",
        RopeType.Dynamic => "dynamic",
        RopeType.Yarn => "yarn",
        RopeType.LongRope => "longrope",
        RopeType.Llama3 => "llama3",
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, null),
    };
}
