namespace EfficientFT.Models.Hub;

/// <summary>How far the download of one file is: <paramref name="Bytes"/> of <paramref name="Total"/> (null where the Hub did not say).</summary>
/// <param name="What">The file and repository, as messages name them ("'model.safetensors' of org/name").</param>
public sealed record HubTransfer(string What, long Bytes, long? Total);
