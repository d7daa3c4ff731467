namespace EfficientFT.Models;

/// <summary>What loading a checkpoint did beyond copying: head tensors it initialised, checkpoint tensors it did not use.</summary>
public sealed record LoadReport(IReadOnlyList<string> NewlyInitialized, IReadOnlyList<string> Unused);
