namespace EfficientFT.Peft;

/// <summary>
/// The settings every method reads (defaults as peft's LoraConfig: r 8, alpha 8, dropout 0). Method-specific
/// settings sit beside them; a method ignores what it does not use.
/// </summary>
public sealed record PeftOptions
{
    public required string Method { get; init; }

    public required TargetSpec Targets { get; init; }

    public int Rank { get; init; } = 8;

    public double Alpha { get; init; } = 8;

    public double Dropout { get; init; }

    /// <summary>Seed for adapter initialisation.</summary>
    public ulong Seed { get; init; }

    /// <summary>SIFT: ρ, the share of each targeted tensor that trains (EfficientFT's run.py uses 0.2; SIFT has no default).</summary>
    public double SparseRate { get; init; } = 0.2;

    /// <summary>PiSSA: null for the exact SVD, else the power iterations of the randomized SVD (peft's pissa_niter_k).</summary>
    public int? PissaIterations { get; init; }

    /// <summary>AdaLoRA's schedule and regularizer; null means peft's defaults (which need a total step count).</summary>
    public AdaLoraOptions? AdaLora { get; init; }

    /// <summary>A matrix pattern constraint on the low-rank factors of whichever method is chosen, or none.</summary>
    public MpcOptions? Mpc { get; init; }
}
