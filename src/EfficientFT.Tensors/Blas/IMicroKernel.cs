namespace EfficientFT.Tensors.Blas;

/// <summary>
/// A register-tiled inner kernel for <see cref="GemmDriver{TKernel}"/>. Implemented by structs so the driver is
/// specialised per kernel and <see cref="Mr"/>/<see cref="Nr"/> fold into constants in the packing loops.
/// </summary>
internal unsafe interface IMicroKernel
{
    /// <summary>Rows of C per tile; packed A panels interleave this many rows.</summary>
    static abstract int Mr { get; }

    /// <summary>Columns of C per tile; packed B panels interleave this many columns.</summary>
    static abstract int Nr { get; }

    /// <summary>
    /// C[Mr×Nr] = alpha · Σₚ a[p·Mr + i] · b[p·Nr + j] + beta · C, summing p in order with one fused multiply-add
    /// per step. Beta 0 overwrites C without reading it, with fma(alpha, sum, bias[j]) where a bias row is given.
    /// </summary>
    static abstract void Run(int kc, float* a, float* b, float* c, nint ldc, float alpha, float beta, float* bias);
}
