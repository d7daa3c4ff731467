using System.Globalization;

namespace EfficientFT.Bench;

/// <summary>
/// "i/n": this process takes the runs whose index in the expanded order is ≡ i (mod n). i is 0-based, 0 ≤ i &lt; n,
/// as Slurm's SLURM_ARRAY_TASK_ID of an array --array=0-(n-1): `--shard $SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT`.
/// </summary>
public sealed record Shard(int Index, int Count)
{
    public static Shard All { get; } = new(0, 1);

    public static Shard Parse(string text)
    {
        var parts = text.Split('/');
        if (parts.Length == 2
            && int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var i)
            && int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var n)
            && n >= 1 && i < n)
            return new Shard(i, n);
        throw new ArgumentException($"--shard '{text}' is not i/n with 0 ≤ i < n (i is 0-based).");
    }

    public bool Contains(int runIndex) => runIndex % Count == Index;

    public override string ToString() => $"{Index}/{Count}";
}
