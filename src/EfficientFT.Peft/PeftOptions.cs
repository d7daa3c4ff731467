using System.Text.RegularExpressions;

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

    /// <summary>
    /// LoRA family: per-module ranks overriding <see cref="Rank"/> (peft's rank_pattern). A key is a regular
    /// expression matched against the end of a module path after a dot (peft's get_pattern_key); keys are tried in
    /// enumeration order and the first match wins.
    /// </summary>
    public IReadOnlyDictionary<string, int> RankPattern { get; init; } = new Dictionary<string, int>();

    /// <summary>LoRA family: per-module alphas overriding <see cref="Alpha"/> (peft's alpha_pattern), matched as <see cref="RankPattern"/>.</summary>
    public IReadOnlyDictionary<string, double> AlphaPattern { get; init; } = new Dictionary<string, double>();

    /// <summary>
    /// (IA)³: the targets that scale their input instead of their output (peft's feedforward_modules); a module is
    /// feed-forward when its path ends with one of these. Null takes peft's defaults for RoBERTa and LLaMA.
    /// </summary>
    public IReadOnlyList<string>? FeedForwardModules { get; init; }

    /// <summary>VeRA: the initial value of every λ_d (peft's d_initial).</summary>
    public double VeraInitialD { get; init; } = 0.1;

    /// <summary>VeRA: the seed of the shared frozen projections (peft's projection_prng_key).</summary>
    public ulong ProjectionSeed { get; init; }

    /// <summary>EVA's data-driven initialisation settings.</summary>
    public EvaOptions Eva { get; init; } = new();

    /// <summary>The rank of the module at <paramref name="path"/>.</summary>
    public int RankFor(string path) => PatternValue(RankPattern, path, Rank);

    /// <summary>The alpha of the module at <paramref name="path"/>.</summary>
    public double AlphaFor(string path) => PatternValue(AlphaPattern, path, Alpha);

    private static T PatternValue<T>(IReadOnlyDictionary<string, T> pattern, string path, T fallback)
    {
        foreach (var (key, value) in pattern)
            if (Regex.IsMatch(path, $"^(?:.*\\.)?(?:{key})$")) return value;
        return fallback;
    }
}

/// <summary>
/// EVA (Paischer et al. 2024) as peft's EvaConfig: ρ bounds the rank a module can receive (⌊r·ρ⌉ components are
/// computed), τ is the cosine similarity at which components count as settled, and adjusting the scaling factors
/// keeps α/r per module when ranks move.
/// </summary>
public sealed record EvaOptions
{
    public double Rho { get; init; } = 2.0;

    public double Tau { get; init; } = 0.99;

    /// <summary>Divide each component by √σ (peft's whiten).</summary>
    public bool Whiten { get; init; }

    public bool AdjustScalingFactors { get; init; } = true;

    /// <summary>Leave out positions whose token label is <see cref="LabelMaskValue"/> (language-modelling batches).</summary>
    public bool UseLabelMask { get; init; } = true;

    public int LabelMaskValue { get; init; } = -100;

    /// <summary>
    /// How many batches the incremental SVD may see before giving up; peft loops until convergence, which a
    /// degenerate layer input can postpone forever.
    /// </summary>
    public int MaxBatches { get; init; } = 1000;
}
