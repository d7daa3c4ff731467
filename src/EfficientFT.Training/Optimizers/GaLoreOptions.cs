namespace EfficientFT.Training.Optimizers;

/// <summary>
/// GaLore's projection settings: galore_torch's param-group keys rank, update_proj_gap and scale, with its projector's
/// defaults. Only proj_type "std" exists here, the reference's default and the one EfficientFT runs.
/// </summary>
public sealed record GaLoreOptions
{
    /// <summary>r: the rank of the projected gradient and of Adam's moments.</summary>
    public required int Rank { get; init; }

    /// <summary>T: the projection is recomputed from the gradient at state steps 0, T, 2T, …</summary>
    public int UpdateProjectionGap { get; init; } = 200;

    /// <summary>α: the projected-back update is multiplied by it.</summary>
    public double Scale { get; init; } = 1.0;

    /// <summary>
    /// Take singular vectors with the signs torch.linalg.svd gives (LAPACK's; needs OpenBLAS). The moments are not
    /// reset when the projection changes, so a flipped singular vector flips the sign of that component's history
    /// and the trajectory departs from the reference's. False uses the engine's backend-independent sign convention.
    /// </summary>
    public bool TorchSigns { get; init; } = true;
}
