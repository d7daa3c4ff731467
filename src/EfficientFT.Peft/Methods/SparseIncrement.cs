using EfficientFT.Tensors;

namespace EfficientFT.Peft.Methods;

/// <summary>
/// SIFT's trainable part of one frozen tensor W: k values δ at k flat (row-major) indices, used as W + scatter(δ).
/// The indices are the k entries of largest |∂L/∂W| in the first backward that reaches W, in decreasing order
/// (ties to the lower index); that same backward already gives δ its gradient ∂L/∂W at those entries, so the first
/// optimizer step updates them. W itself never receives a gradient and the optimizer only ever sees δ.
/// </summary>
public sealed class SparseIncrement
{
    /// <param name="dense">W, frozen.</param>
    /// <param name="count">k, at most W's size.</param>
    public SparseIncrement(Tensor dense, int count)
    {
        if (count < 1 || count > dense.Size)
            throw new ArgumentException($"SIFT: {count} entries of a tensor of {dense.Size}.");
        Dense = dense;
        Values = Tensor.Parameter(Tensor.Zeros(count));
    }

    /// <summary>W.</summary>
    public Tensor Dense { get; }

    /// <summary>δ, [k]: the tensor the optimizer trains.</summary>
    public Tensor Values { get; }

    /// <summary>The flat indices of δ's entries in W, or null until the first backward has chosen them.</summary>
    public int[]? Indices { get; private set; }

    /// <summary>
    /// W + scatter(δ), recorded so that backward gives δ its gradient and, the first time, chooses the indices.
    /// Before that choice δ has no place in W, so the result is W itself.
    /// </summary>
    public Tensor Effective()
    {
        var output = Dense.Clone();
        if (Indices != null) AddScattered(output.AsSpan(), 1);
        return Ops.Function("sift", output, [Dense, Values], dy =>
        {
            var g = dy.AsSpan();
            Indices ??= Largest(g, Values.Size);
            var dv = Ops.GradientBuffer(Values);
            for (var i = 0; i < Indices.Length; i++) dv[i] += g[Indices[i]];
            if (!Dense.RequiresGrad) return;
            var dw = Ops.GradientBuffer(Dense);
            System.Numerics.Tensors.TensorPrimitives.Add(dw, g, dw);
        });
    }

    /// <summary>Sets the indices a checkpoint saved, as if the first backward had chosen them.</summary>
    /// <exception cref="InvalidDataException">They are not k distinct indices into W.</exception>
    public void RestoreIndices(int[] indices, string source)
    {
        if (indices.Length != Values.Size || indices.Any(i => i < 0 || i >= Dense.Size) || indices.Distinct().Count() != indices.Length)
            throw new InvalidDataException($"{source}: not {Values.Size} distinct indices into a tensor of {Dense.Size} entries.");
        Indices = indices;
    }

    /// <summary>Adds <paramref name="sign"/>·δ into <paramref name="target"/> (W's layout) at the indices.</summary>
    public void AddScattered(Span<float> target, float sign)
    {
        if (Indices == null) return;
        var values = Values.AsSpan();
        for (var i = 0; i < Indices.Length; i++) target[Indices[i]] += sign * values[i];
    }

    /// <summary>
    /// The flat indices of the <paramref name="count"/> largest |g|, largest first, ties to the lower index. One sort
    /// of 64-bit keys: the high half orders by |g| (non-negative floats order as their bit patterns), the low half
    /// by index.
    /// </summary>
    internal static int[] Largest(ReadOnlySpan<float> g, int count)
    {
        var keys = new long[g.Length];
        for (var i = 0; i < g.Length; i++)
            keys[i] = ((long)(int.MaxValue - BitConverter.SingleToInt32Bits(Math.Abs(g[i]))) << 32) | (uint)i;
        Array.Sort(keys);
        var indices = new int[count];
        for (var j = 0; j < count; j++) indices[j] = (int)(keys[j] & 0xFFFF_FFFF);
        return indices;
    }
}
