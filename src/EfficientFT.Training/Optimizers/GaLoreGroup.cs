namespace EfficientFT.Training.Optimizers;

/// <summary>A parameter group of <see cref="GaLoreAdamW"/>: projected when <paramref name="Projection"/> is set, plain otherwise.</summary>
public sealed record GaLoreGroup(ParamGroup Group, GaLoreOptions? Projection);
