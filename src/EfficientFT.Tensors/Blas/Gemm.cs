namespace EfficientFT.Tensors.Blas;

/// <summary>The process-wide matrix-product path. Every op's matrix product goes through <see cref="Default"/>.</summary>
public static class Gemm
{
    private static IGemm? _default;

    /// <summary>The path used by the engine; settable (tests, benchmarks), or chosen by EFT_GEMM.</summary>
    public static IGemm Default
    {
        get => _default ??= Choose(Environment.GetEnvironmentVariable("EFT_GEMM"));
        set => _default = value;
    }

    /// <summary>
    /// EFT_GEMM=managed|openblas|naive picks explicitly (openblas then fails on first use if the library is missing,
    /// rather than silently changing the numbers). Otherwise the managed path, always: the choice must not depend
    /// on a timing race or on which machine loads which library, because the same seed has to give the same bits.
    /// Managed wins that fixed rule on the merits too. On a 2-core Zen 3 (AVX2) it matched OpenBLAS 0.3.21 at every
    /// transformer shape in `eft perf gemm` (2048×768×768, 2048×768×3072, 2048×3072×768, 512×768×768; X·Wᵀ and X·W):
    /// 95–110% of OpenBLAS's best run on one and two threads, 100–115% of its median on one thread. It needs no
    /// native library, and its results do not change with the thread count or the kernel width, whereas OpenBLAS's
    /// depend on its thread count and on the kernel it picks at load time (OPENBLAS_CORETYPE).
    /// </summary>
    internal static IGemm Choose(string? setting) => setting?.Trim().ToLowerInvariant() switch
    {
        null or "" or "managed" => new ManagedGemm(),
        "openblas" => OpenBlasGemm.Instance,
        "naive" => NaiveGemm.Instance,
        _ => throw new InvalidOperationException($"EFT_GEMM='{setting}' is not one of managed, openblas, naive."),
    };
}
