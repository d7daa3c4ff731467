namespace EfficientFT.Peft;

/// <summary>
/// AdaLoRA's settings, with peft 0.15.1's AdaLoraConfig defaults. The rank schedule runs over
/// <see cref="TotalStep"/> optimizer steps: <see cref="Tinit"/> warm-up steps at the initial budget
/// Σ <see cref="InitR"/>, a cubic decrease to <see cref="TargetR"/> per layer, re-masked every <see cref="DeltaT"/>
/// steps, and <see cref="Tfinal"/> steps at the final allocation.
/// </summary>
public sealed record AdaLoraOptions
{
    /// <summary>Rank every layer starts with.</summary>
    public int InitR { get; init; } = 12;

    /// <summary>Average rank per layer at the end; the budget is TargetR × number of layers.</summary>
    public int TargetR { get; init; } = 8;

    public int Tinit { get; init; }

    public int Tfinal { get; init; }

    public int DeltaT { get; init; } = 1;

    /// <summary>Smoothing of the sensitivity |p·∇p|.</summary>
    public double Beta1 { get; init; } = 0.85;

    /// <summary>Smoothing of the uncertainty |I − Ī|.</summary>
    public double Beta2 { get; init; } = 0.85;

    /// <summary>Weight of the orthogonal regularizer in the loss; 0 switches it off.</summary>
    public double OrthRegWeight { get; init; } = 0.5;

    /// <summary>Length of the schedule in optimizer steps. peft has no default and neither do we: it must be set.</summary>
    public int? TotalStep { get; init; }

    /// <summary>
    /// Which of the InitR triplets each layer kept, by module path, as peft's rank_pattern (null before the first
    /// allocation). A layer listed here is built with only its kept ranks, which is how a saved adapter loads.
    /// </summary>
    public IReadOnlyDictionary<string, bool[]>? RankPattern { get; init; }
}
