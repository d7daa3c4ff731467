using EfficientFT.Models.Nn;
using EfficientFT.Tensors;
using EfficientFT.Tensors.Blas;

namespace EfficientFT.Training;

/// <summary>Whether a run holds its frozen linear weights packed (<see cref="Module.FrozenLinearWeights"/>).</summary>
public enum PackedWeights
{
    /// <summary>Where it pays (<see cref="PackedWeight.PaysAt"/>) and the extra copy takes at most a quarter of the machine's memory.</summary>
    Auto,
    On,
    Off,
}

public static class FrozenWeightPacking
{
    /// <summary>The setting from an option's text: auto, on or off.</summary>
    public static PackedWeights Parse(string text, string option) =>
        Enum.GetNames<PackedWeights>().FirstOrDefault(name => name.Equals(text.Trim(), StringComparison.OrdinalIgnoreCase)) is { } name
            ? Enum.Parse<PackedWeights>(name)
            : throw new ArgumentException($"{option} '{text}' is not one of auto, on, off.");

    /// <summary>
    /// Holds the model's <see cref="Module.FrozenLinearWeights"/> packed (<see cref="Tensor.HoldPacked"/>) as
    /// <paramref name="mode"/> says for products of <paramref name="rowsPerProduct"/> rows on <paramref name="threads"/>
    /// threads, then collects the float32 arrays they leave, so the run's peak memory does not carry them. Call it once
    /// the method has set what trains; a weight that trains later unpacks by itself. Returns the float32 bytes packed
    /// (about what packing adds; 0 when nothing was), and why.
    /// </summary>
    public static (long Bytes, string Why) Apply(Module model, PackedWeights mode, int rowsPerProduct, int threads)
    {
        var weights = model.FrozenLinearWeights();
        var bytes = weights.Sum(t => 4L * t.Size);
        var skipped = mode switch
        {
            PackedWeights.Off => "off",
            _ when weights.Count == 0 => "no frozen float32 linear weights",
            PackedWeights.On => null,
            _ when !PackedWeight.PaysAt(rowsPerProduct, threads) => $"auto: it does not pay at {rowsPerProduct} rows per product on {threads} thread(s)",
            _ when bytes > GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / 4 => "auto: a second copy of them would take over a quarter of the memory",
            _ => null,
        };
        if (skipped != null) return (0, skipped);
        var packed = weights.Where(t => t.HoldPacked()).Sum(t => 4L * t.Size);
        if (packed == 0) return (0, $"the {Gemm.Default.Name} matrix products keep no packed form");
        GC.Collect();
        return (packed, mode == PackedWeights.On ? "on" : $"auto: {rowsPerProduct} rows per product on {threads} threads");
    }
}
