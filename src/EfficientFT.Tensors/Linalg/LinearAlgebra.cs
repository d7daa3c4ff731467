using EfficientFT.Tensors.Blas;

namespace EfficientFT.Tensors.Linalg;

/// <summary>
/// The engine's factorizations on row-major float32 buffers, delegated to <see cref="Backend"/>: OpenBLAS's LAPACK
/// when it loads, MathNet otherwise. EFT_LAPACK=native|managed forces one. See <see cref="Lapack"/> for the shapes,
/// orders and sign conventions every backend follows.
/// </summary>
public static class LinearAlgebra
{
    private static Lapack? _backend;

    /// <summary>The backend in use; settable (tests, benchmarks).</summary>
    public static Lapack Backend
    {
        get => _backend ??= Choose(Environment.GetEnvironmentVariable("EFT_LAPACK"), () => OpenBlas.IsAvailable);
        set => _backend = value;
    }

    /// <inheritdoc cref="Lapack.Svd"/>
    public static SvdResult Svd(ReadOnlySpan<float> a, int rows, int cols) => Backend.Svd(a, rows, cols);

    /// <inheritdoc cref="Lapack.SvdWithLapackSigns"/>
    public static SvdResult SvdWithLapackSigns(ReadOnlySpan<float> a, int rows, int cols) => Backend.SvdWithLapackSigns(a, rows, cols);

    /// <inheritdoc cref="Lapack.Qr"/>
    public static QrResult Qr(ReadOnlySpan<float> a, int rows, int cols) => Backend.Qr(a, rows, cols);

    /// <inheritdoc cref="Lapack.SymmetricEigen"/>
    public static SymmetricEigenResult SymmetricEigen(ReadOnlySpan<float> a, int n) => Backend.SymmetricEigen(a, n);

    /// <inheritdoc cref="Lapack.RandomizedSvd"/>
    public static SvdResult RandomizedSvd(ReadOnlySpan<float> a, int rows, int cols, int rank,
        int oversample = 10, int powerIterations = 2, ulong seed = 0) =>
        Backend.RandomizedSvd(a, rows, cols, rank, oversample, powerIterations, seed);

    internal static Lapack Choose(string? setting, Func<bool> nativeAvailable) => setting?.Trim().ToLowerInvariant() switch
    {
        null or "" => nativeAvailable() ? NativeLapack.Instance : ManagedLapack.Instance,
        "managed" => ManagedLapack.Instance,
        "native" when nativeAvailable() => NativeLapack.Instance,
        "native" => throw new InvalidOperationException(
            $"EFT_LAPACK=native, but OpenBLAS is not available ({OpenBlas.LoadError})."),
        _ => throw new InvalidOperationException($"EFT_LAPACK={setting} is not one of: native, managed."),
    };
}
