namespace EfficientFT.Tensors.Blas;

/// <summary>The process-wide matrix-product path. Every op's matrix product goes through <see cref="Default"/>.</summary>
public static class Gemm
{
    private static IGemm? _default;

    /// <summary>The path used by the engine; settable (tests, benchmarks, EFT_GEMM).</summary>
    public static IGemm Default
    {
        get => _default ??= Choose();
        set => _default = value;
    }

    private static IGemm Choose() => NaiveGemm.Instance;
}
