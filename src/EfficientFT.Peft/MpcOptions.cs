namespace EfficientFT.Peft;

/// <summary>
/// The three matrix pattern constraints of Si, Yang &amp; Shen, "See Further for Parameter Efficient Fine-tuning by
/// Standing on the Shoulders of Decomposition" (arXiv 2407.05417).
/// </summary>
public enum MpcKind
{
    /// <summary>MPC_o (Eq. 25): both factors semi-orthogonal.</summary>
    Orthogonal,

    /// <summary>MPC_d (Eq. 26): one factor semi-orthogonal, the other with mutually orthogonal rows of free length.</summary>
    Diagonal,

    /// <summary>MPC_n: a nonlinearity between the two factors.</summary>
    Nonlinear,
}

/// <summary>
/// A matrix pattern constraint on a low-rank method's factors. <see cref="Coefficient"/> weighs the regularizer of
/// <see cref="MpcKind.Orthogonal"/> and <see cref="MpcKind.Diagonal"/> (the Subspace-Tuning repository uses 0.1 for
/// its orthogonal regularizers); for <see cref="MpcKind.Nonlinear"/> it is the gain c of h(z) = z/(1 + c·|z|).
/// </summary>
public sealed record MpcOptions(MpcKind Kind, double Coefficient)
{
    /// <summary>The command-line and spec form "KIND:COEF" (kind case-insensitive, COEF a finite number &gt; 0); null when malformed.</summary>
    public static MpcOptions? TryParse(string text)
    {
        var parts = text.Split(':');
        return parts.Length == 2 && Enum.TryParse<MpcKind>(parts[0], ignoreCase: true, out var kind) && !int.TryParse(parts[0], out _)
            && double.TryParse(parts[1], System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var coefficient)
            && double.IsFinite(coefficient) && coefficient > 0
            ? new MpcOptions(kind, coefficient)
            : null;
    }

    /// <summary>What a malformed "KIND:COEF" should be, for error messages.</summary>
    public static string Expected => $"KIND:COEF with KIND one of {string.Join(", ", Enum.GetNames<MpcKind>()).ToLowerInvariant()} and COEF > 0";
}
