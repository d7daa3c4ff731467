namespace EfficientFT.Tensors;

public static partial class Ops
{
    /// <summary>
    /// Rows of <paramref name="weight"/> [V, D] picked by token ids; the result has shape idsShape + [D]. The row at
    /// <paramref name="paddingIndex"/> gets no gradient, as torch.nn.Embedding(padding_idx=…) does.
    /// </summary>
    public static Tensor Embedding(Tensor weight, ReadOnlySpan<int> ids, int[] idsShape, int? paddingIndex = null)
    {
        if (weight.Rank != 2) throw new ArgumentException($"embedding: weight {weight.Describe()} is not a matrix.");
        if (Shapes.Size(idsShape) != ids.Length)
            throw new ArgumentException($"embedding: {ids.Length} ids do not fill shape {Shapes.Format(idsShape)}.");
        // A table held in bfloat16 stays so: only the rows picked are widened.
        if (!weight.IsBFloat16) weight = weight.Contiguous();
        var (vocab, dim) = (weight.Dim(0), weight.Dim(1));
        var tokens = ids.ToArray();
        for (var i = 0; i < tokens.Length; i++)
            if ((uint)tokens[i] >= (uint)vocab)
                throw new IndexOutOfRangeException($"embedding: id {tokens[i]} at position {i} is outside the vocabulary of {weight.Describe()} ({vocab} rows).");
        var output = Tensor.Uninitialized([.. idsShape, dim]);
        var y = output.AsSpan();
        if (weight.IsBFloat16)
        {
            var bits = weight.BFloat16Storage.AsSpan();
            for (var i = 0; i < tokens.Length; i++) BFloat16.Widen(bits.Slice(tokens[i] * dim, dim), y.Slice(i * dim, dim));
        }
        else
        {
            var w = weight.AsSpan();
            for (var i = 0; i < tokens.Length; i++) w.Slice(tokens[i] * dim, dim).CopyTo(y.Slice(i * dim, dim));
        }
        return Record(output, "embedding", [weight], dy =>
        {
            var dw = GradOf(weight);
            var g = dy.AsSpan();
            for (var i = 0; i < tokens.Length; i++)
            {
                if (tokens[i] == paddingIndex) continue;
                var row = dw.Slice(tokens[i] * dim, dim);
                System.Numerics.Tensors.TensorPrimitives.Add(row, g.Slice(i * dim, dim), row);
            }
        });
    }

    /// <summary>
    /// Inverted dropout: zeroes each element with probability <paramref name="p"/> and scales the rest by 1/(1 − p).
    /// The mask comes from a counter-based hash of one key drawn from <paramref name="rng"/>, so it does not depend on
    /// thread count; backward reads the mask's bits, kept from forward.
    /// </summary>
    public static Tensor Dropout(Tensor x, float p, Rng rng)
    {
        CheckDropout(p, "dropout");
        if (p == 0) return x;
        return Dropout(x, p, rng.NextUInt64());
    }

    /// <summary>Dropout with an explicit mask key (what <see cref="Dropout(Tensor, float, Rng)"/> draws).</summary>
    public static Tensor Dropout(Tensor x, float p, ulong key) => Dropout(x, null, p, key);

    /// <summary>
    /// residual + dropout(x) in one pass and one output buffer, the residual connection after a transformer
    /// sublayer; the same mask, drawn the same way, as <see cref="Dropout(Tensor, float, Rng)"/> and then an add.
    /// </summary>
    public static Tensor DropoutAdd(Tensor x, Tensor residual, float p, Rng rng)
    {
        CheckDropout(p, "dropout_add");
        if (p == 0) return residual + x;
        return DropoutAdd(x, residual, p, rng.NextUInt64());
    }

    /// <summary>residual + dropout(x) with an explicit mask key.</summary>
    public static Tensor DropoutAdd(Tensor x, Tensor residual, float p, ulong key)
    {
        if (!Shapes.SameShape(x.Shape, residual.Shape))
            throw new ArgumentException($"dropout_add: residual {residual.Describe()} is not the shape of {x.Describe()}.");
        return Dropout(x, residual, p, key);
    }

    private static Tensor Dropout(Tensor x, Tensor? residual, float p, ulong key)
    {
        var op = residual == null ? "dropout" : "dropout_add";
        CheckDropout(p, op);
        x = x.Contiguous();
        residual = residual?.Contiguous();
        var scale = 1f / (1f - p);
        var output = Tensor.Uninitialized(x.ShapeArray());
        var (xs, ys, rs) = (x.Storage, output.Storage, residual?.Storage);
        var size = x.Size;
        var mask = new ulong[DropoutMask.Words(size)];
        // Threads own whole mask words (64 elements), so no two write the same word.
        Threading.For(mask.Length, 64 * 8, (w0, w1) =>
        {
            var (start, end) = (w0 * 64, Math.Min(size, w1 * 64));
            var words = mask.AsSpan(w0, w1 - w0);
            DropoutMask.Fill(key, (ulong)start, end - start, p, words);
            if (rs == null)
            {
                DropoutMask.Apply(words, xs.AsSpan(start, end - start), ys.AsSpan(start, end - start), scale);
                return;
            }
            rs.AsSpan(start, end - start).CopyTo(ys.AsSpan(start, end - start));
            DropoutMask.ApplyAdd(words, xs.AsSpan(start, end - start), ys.AsSpan(start, end - start), scale);
        });
        Tensor[] inputs = residual == null ? [x] : [x, residual];
        return Record(output, op, inputs, dy =>
        {
            var g = dy.Storage;
            if (NeedsGrad(x))
            {
                var dxs = GradStorage(x, out var fresh);
                Threading.For(mask.Length, 64 * 2, (w0, w1) =>
                {
                    var (start, end) = (w0 * 64, Math.Min(size, w1 * 64));
                    DropoutMask.ApplyAdd(mask.AsSpan(w0, w1 - w0), g.AsSpan(start, end - start), ClearIfFresh(dxs, start, end - start, fresh), scale);
                });
            }
            // Last: the residual may take dy's buffer over once nothing else reads it.
            if (residual != null && NeedsGrad(residual)) Autograd.Backprop.AccumulateOwned(residual, dy);
        });
    }

    private static void CheckDropout(float p, string op)
    {
        if (p is < 0 or >= 1) throw new ArgumentOutOfRangeException(nameof(p), $"{op}: probability {p} is outside [0, 1).");
    }
}
