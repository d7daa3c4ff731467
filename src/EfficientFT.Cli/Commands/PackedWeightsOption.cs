using System.CommandLine;
using EfficientFT.Training;

namespace EfficientFT.Cli.Commands;

/// <summary>`--packed-weights auto|on|off`, shared by `train` and `perf train` so both read and describe it alike.</summary>
internal static class PackedWeightsOption
{
    public static Option<string> Create() => new("--packed-weights")
    {
        Description = "Hold the frozen linear weights packed for the matrix products, for speed at the cost of one more copy of them: auto (where it pays and fits), on or off.",
        DefaultValueFactory = _ => "auto",
    };

    public static PackedWeights Value(ParseResult result, Option<string> option) =>
        FrozenWeightPacking.Parse(result.GetValue(option)!, option.Name);
}
