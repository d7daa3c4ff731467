namespace EfficientFT.Tensors.Blas;

/// <summary>Which micro-kernel <see cref="ManagedGemm"/> runs.</summary>
public enum ManagedGemmWidth
{
    /// <summary>Vector512 where the CPU has AVX-512, otherwise Vector256.</summary>
    Auto,

    /// <summary>The 6×16 Vector256 kernel (AVX2 + FMA).</summary>
    Vector256,

    /// <summary>
    /// The 8×32 Vector512 kernel (AVX-512). Forced on a machine without AVX-512 it runs in .NET's software fallback:
    /// correct, very slow, useful only to test it.
    /// </summary>
    Vector512,
}
