namespace EfficientFT.Tensors.Linalg;

/// <summary>
/// Singular and eigen vectors are only defined up to sign, and QR only up to the signs of R's diagonal; LAPACK and
/// MathNet pick different ones. Fixing the signs makes results reproducible and comparable across backends:
/// <list type="bullet">
/// <item>SVD and eigenvectors: each column of U (or V) has its largest-magnitude entry positive (the first such entry
/// on exact ties); an SVD pair flips U's column and Vt's row together.</item>
/// <item>QR: R's diagonal is non-negative; a flipped row of R flips the matching column of Q.</item>
/// </list>
/// Vectors of repeated (or nearly repeated) values are not unique beyond sign, so no convention makes those agree.
/// </summary>
internal static class SignConvention
{
    public static void Svd(Span<float> u, Span<float> vt, int rows, int cols, int rank)
    {
        var flip = ColumnsToFlip(u, rows, rank);
        NegateColumns(u, rows, rank, flip);
        for (var j = 0; j < rank; j++)
        {
            if (flip[j]) NegateRange(vt.Slice(j * cols, cols));
        }
    }

    public static void Eigen(Span<float> vectors, int n) => NegateColumns(vectors, n, n, ColumnsToFlip(vectors, n, n));

    public static void Qr(Span<float> q, Span<float> r, int rows, int cols, int k)
    {
        var flip = new bool[k];
        for (var i = 0; i < k; i++)
        {
            if (r[i * cols + i] < 0)
            {
                flip[i] = true;
                NegateRange(r.Slice(i * cols, cols));
            }
        }
        NegateColumns(q, rows, k, flip);
    }

    private static bool[] ColumnsToFlip(ReadOnlySpan<float> m, int rows, int cols)
    {
        var best = new float[cols];
        var flip = new bool[cols];
        for (var i = 0; i < rows; i++)
        {
            var row = m.Slice(i * cols, cols);
            for (var j = 0; j < cols; j++)
            {
                var magnitude = Math.Abs(row[j]);
                if (magnitude > best[j])
                {
                    best[j] = magnitude;
                    flip[j] = row[j] < 0;
                }
            }
        }
        return flip;
    }

    private static void NegateColumns(Span<float> m, int rows, int cols, bool[] flip)
    {
        if (Array.IndexOf(flip, true) < 0) return;
        for (var i = 0; i < rows; i++)
        {
            var row = m.Slice(i * cols, cols);
            for (var j = 0; j < cols; j++)
            {
                if (flip[j]) row[j] = -row[j];
            }
        }
    }

    private static void NegateRange(Span<float> values)
    {
        for (var i = 0; i < values.Length; i++) values[i] = -values[i];
    }
}
