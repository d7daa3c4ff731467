using EfficientFT.Tensors;

namespace EfficientFT.Peft.Methods;

/// <summary>The MPC_o / MPC_d penalty as a loss term (see <see cref="Mpc"/> for the formulas and the factor mapping).</summary>
public sealed class MpcRegularizer(MpcKind kind, float coefficient, IReadOnlyList<ILowRankAdapter> adapters) : IStepHook
{
    /// <summary>The unweighted penalty of one layer.</summary>
    public static Tensor LayerPenalty(MpcKind kind, Tensor a, Tensor b)
    {
        var identity = Gram.Identity(a.Dim(0));
        var left = Gram.SquaredFrobenius(Gram.OfColumns(b) - identity);
        var rows = Gram.OfRows(a);
        var right = kind switch
        {
            MpcKind.Orthogonal => Gram.SquaredFrobenius(rows - identity),
            MpcKind.Diagonal => Gram.SquaredFrobenius(Gram.OffDiagonal(rows)),
            _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "MPC_n has no penalty."),
        };
        return left + right;
    }

    public Tensor? LossTerm()
    {
        Tensor? sum = null;
        foreach (var adapter in adapters)
        {
            var penalty = LayerPenalty(kind, adapter.A, adapter.B);
            sum = sum == null ? penalty : sum + penalty;
        }
        return sum == null ? null : sum * (coefficient / adapters.Count);
    }
}
