namespace EfficientFT.Tensors.Linalg;

/// <summary>
/// Up-front checks shared by every factorization. Non-finite values are rejected before LAPACK sees them because
/// its iterative routines can loop for a very long time or return garbage with info = 0 on NaN.
/// </summary>
internal static class MatrixChecks
{
    public static void Matrix(string op, ReadOnlySpan<float> a, int rows, int cols)
    {
        if (rows < 0 || cols < 0)
            throw new ArgumentException($"{op}: negative shape {rows}×{cols}.");
        var needed = (long)rows * cols;
        if (needed > Array.MaxLength)
            throw new ArgumentException($"{op}: a {rows}×{cols} matrix has more elements than a buffer can hold.");
        if (a.Length != needed)
            throw new ArgumentException($"{op}: a {rows}×{cols} matrix needs {needed} elements, but the buffer has {a.Length}.");
        for (var i = 0; i < a.Length; i++)
        {
            if (!float.IsFinite(a[i]))
                throw new ArgumentException(
                    $"{op}: the {rows}×{cols} input has a non-finite value ({a[i]}) at [{i / cols}, {i % cols}].");
        }
    }
}
