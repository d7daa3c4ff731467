namespace EfficientFT.Tensors.Blas;

/// <summary>One shape's operands for <see cref="GemmBenchmark"/>: A and B filled, C the product's destination.</summary>
public sealed record GemmOperands(GemmShape Shape, float[] A, int Lda, float[] B, int Ldb, float[] C);

/// <summary>
/// A way of running a benchmarked product. Binding it to a shape's operands does the untimed preparation (packing a
/// weight, say) and gives the call to time, or null where the path does not apply to that shape.
/// </summary>
public sealed class GemmPath
{
    private readonly Func<GemmOperands, Action?> _bind;

    private GemmPath(string name, Func<GemmOperands, Action?> bind)
    {
        Name = name;
        _bind = bind;
    }

    public string Name { get; }

    public Action? Bind(GemmOperands operands) => _bind(operands);

    /// <summary>The product with B as it lies in memory, packed by the path on every call.</summary>
    public static GemmPath Plain(IGemm gemm) => new(gemm.Name, o =>
    {
        var s = o.Shape;
        return () => gemm.Multiply(s.TransposeA, s.TransposeB, s.M, s.N, s.K, 1f, o.A, o.Lda, o.B, o.Ldb, 0f, o.C, s.N);
    });

    /// <summary>
    /// B as a linear layer's frozen weight W, packed once beforehand as <c>--packed-weights</c> holds it: a shape with B
    /// transposed is the forward product x·Wᵀ, one without is the input gradient dy·W. A transposed A is no such
    /// product, and a path with no packed form (<see cref="IGemm.Pack"/> null) has nothing to time.
    /// </summary>
    public static GemmPath PackedWeight(IGemm gemm) => new($"{gemm.Name} packed", o =>
    {
        var s = o.Shape;
        if (s.TransposeA || o.Ldb != (s.TransposeB ? s.K : s.N)) return null;
        var (rows, cols) = s.TransposeB ? (s.N, s.K) : (s.K, s.N);
        var w = gemm.Pack(o.B, rows, cols);
        if (w == null) return null;
        return () => gemm.MultiplyPacked(s.TransposeB, s.M, 1f, o.A, o.Lda, w, 0f, default, o.C, s.N);
    });
}
