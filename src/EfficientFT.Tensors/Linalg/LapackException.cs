namespace EfficientFT.Tensors.Linalg;

/// <summary>A factorization routine failed: it did not converge, or it rejected an argument.</summary>
public sealed class LapackException : Exception
{
    public LapackException(string routine, int info, string message, Exception? innerException = null)
        : base(message, innerException)
    {
        Routine = routine;
        Info = info;
    }

    /// <summary>The routine that failed, e.g. "sgesdd" or, for the managed backend, "MathNet.Svd".</summary>
    public string Routine { get; }

    /// <summary>
    /// LAPACK's info: negative when argument −Info was invalid (a bug on our side), positive when the routine did not
    /// converge. The managed backend reports 1 for non-convergence because MathNet gives no count.
    /// </summary>
    public int Info { get; }

    internal static void ThrowIfFailed(string routine, int info)
    {
        if (info < 0)
            throw new LapackException(routine, info,
                $"{routine} rejected its argument {-info} (info={info}); this is a bug in EfficientFT's LAPACK call.");
        if (info > 0)
            throw new LapackException(routine, info,
                $"{routine} did not converge (info={info}); the input is likely badly scaled or ill-conditioned.");
    }
}
