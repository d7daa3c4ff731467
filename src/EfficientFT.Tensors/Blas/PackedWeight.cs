namespace EfficientFT.Tensors.Blas;

/// <summary>
/// A frozen weight W [rows × cols] held only as the managed GEMM's packed panels for the two products a linear layer
/// takes with it, x·Wᵀ (forward) and dy·W (the input's gradient), so neither product packs it again at every step.
/// </summary>
/// <remarks>
/// Packing a weight is a pass bound by memory: inside a RoBERTa-base LoRA step on the 2-core Zen 3 VM, the phase that
/// packs a 768×768 weight took a median 327 µs at two threads, against about 140 µs for the same pack with the
/// weight in cache, and it stalls both threads between two barriers. Kept packed, that phase goes. The price is
/// memory: two packed layouts instead of one matrix, one extra copy of each weight. The layouts are those of the
/// kernel that packed them, so another kernel or another GEMM path reads W through <see cref="Unpack"/>.
/// </remarks>
public sealed unsafe class PackedWeight
{
    private readonly PackBuffer _forward = new(), _backward = new();

    internal PackedWeight(ReadOnlySpan<float> w, int rows, int cols, bool wide)
    {
        if (rows <= 0 || cols <= 0 || w.Length != rows * cols)
            throw new ArgumentException($"PackedWeight: {w.Length} values do not fill a {rows}×{cols} matrix.");
        (Rows, Cols, Wide) = (rows, cols, wide);
        _forward.Get(checked((int)PackedFloats(rows, cols)));
        _backward.Get(checked((int)PackedFloats(cols, rows)));
        Write(w);
    }

    /// <summary>
    /// Whether keeping weights packed speeds up products with this many rows of A (tokens per batch, for a linear
    /// layer) on this many threads. Above 512 rows a product packs B in a phase of its own, between two barriers, and
    /// that is the phase packing once removes: a RoBERTa-base LoRA step at 1,024 rows on two threads of the 2-core
    /// Zen 3 VM took 1–14% less time (median 7%) over four alternating pairs. With fewer rows B is packed piece by
    /// piece inside the items, one thread's packing overlapping the other's arithmetic, and keeping it packed measured
    /// nothing: Llama-3.2-1B shapes at 256 rows took 11,275 against 11,296 ms. On one thread nothing waits at a
    /// barrier, and the same RoBERTa step measured nothing either (4,484, 4,505 and 4,320 against 4,350, 4,313 and
    /// 4,368 ms, alternating).
    /// </summary>
    public static bool PaysAt(int rows, int threads) => threads > 1 && rows > GemmDriver<MicroKernel6x16>.SharedARowLimit;

    public int Rows { get; }

    public int Cols { get; }

    /// <summary>Packed for the 8×32 kernel (Vector512), else for the 6×16 one.</summary>
    internal bool Wide { get; }

    /// <summary>op(B) = Wᵀ, n = rows, k = cols.</summary>
    internal float* Forward => _forward.Get(0);

    /// <summary>op(B) = W, n = cols, k = rows.</summary>
    internal float* Backward => _backward.Get(0);

    private long PackedFloats(int n, int k) =>
        Wide ? GemmDriver<MicroKernel8x32>.PackedFloats(n, k) : GemmDriver<MicroKernel6x16>.PackedFloats(n, k);

    /// <summary>Replaces the values, packing both layouts again.</summary>
    internal void Write(ReadOnlySpan<float> w)
    {
        fixed (float* pw = w)
        {
            if (Wide)
            {
                GemmDriver<MicroKernel8x32>.PackWhole(true, Rows, Cols, pw, Cols, Forward);
                GemmDriver<MicroKernel8x32>.PackWhole(false, Cols, Rows, pw, Cols, Backward);
            }
            else
            {
                GemmDriver<MicroKernel6x16>.PackWhole(true, Rows, Cols, pw, Cols, Forward);
                GemmDriver<MicroKernel6x16>.PackWhole(false, Cols, Rows, pw, Cols, Backward);
            }
        }
    }

    /// <summary>Writes W row-major into <paramref name="dst"/> (rows · cols floats), exactly the values packed.</summary>
    public void Unpack(Span<float> dst)
    {
        if (dst.Length < Rows * Cols)
            throw new ArgumentException($"PackedWeight.Unpack: {dst.Length} floats for a {Rows}×{Cols} matrix.");
        fixed (float* pd = dst)
        {
            if (Wide) GemmDriver<MicroKernel8x32>.UnpackWhole(Cols, Rows, Backward, pd);
            else GemmDriver<MicroKernel6x16>.UnpackWhole(Cols, Rows, Backward, pd);
        }
    }

    /// <summary>
    /// The product for a GEMM path that cannot read these panels: W unpacked into a temporary, then the path's own
    /// product with it (the default of <see cref="IGemm.MultiplyPacked"/>).
    /// </summary>
    internal void MultiplyUnpacked(IGemm gemm, bool transposed, int m, float alpha, ReadOnlySpan<float> a, int lda,
        float beta, ReadOnlySpan<float> bias, Span<float> c, int ldc)
    {
        var w = GC.AllocateUninitializedArray<float>(Rows * Cols);
        Unpack(w);
        var (n, k) = transposed ? (Rows, Cols) : (Cols, Rows);
        if (bias.IsEmpty) gemm.Multiply(false, transposed, m, n, k, alpha, a, lda, w, Cols, beta, c, ldc);
        else gemm.MultiplyWithBias(false, transposed, m, n, k, alpha, a, lda, w, Cols, bias, c, ldc);
    }
}
