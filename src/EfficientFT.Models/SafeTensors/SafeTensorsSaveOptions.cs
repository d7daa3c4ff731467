namespace EfficientFT.Models.SafeTensors;

/// <summary>How float32 tensors are saved.</summary>
public sealed record SafeTensorsSaveOptions
{
    /// <summary>
    /// The header metadata. Defaults to <c>{"format": "pt"}</c>, what transformers and peft write, because
    /// transformers' loader rejects a safetensors checkpoint whose format is missing or unknown.
    /// </summary>
    public IReadOnlyDictionary<string, string>? Metadata { get; init; } = new Dictionary<string, string> { ["format"] = "pt" };

    /// <summary>The on-disk element type: F32 (exact), or F16 / BF16 rounded to nearest even.</summary>
    public SafeTensorsDType DType { get; init; } = SafeTensorsDType.F32;

    /// <summary>
    /// For sharded saves: the most tensor bytes one shard holds (a larger single tensor gets a shard of its own).
    /// 5 GB (10^9 bytes each) is transformers' default.
    /// </summary>
    public long MaxShardBytes { get; init; } = 5_000_000_000;

    /// <summary>For sharded saves: the file stem, giving <c>model.safetensors</c> or <c>model-00001-of-00002.safetensors</c>.</summary>
    public string FilePrefix { get; init; } = "model";
}
