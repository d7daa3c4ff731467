using System.Numerics.Tensors;
using EfficientFT.Tensors.Blas;

namespace EfficientFT.Tensors;

public static partial class Ops
{
    /// <summary>
    /// Fused scaled-dot-product attention, softmax(q·kᵀ·scale + mask)·v, in the layout a linear projection
    /// produces, so no permute copies are needed:
    /// q [B, T, Hq, D], k and v [B, S, Hkv, D] (grouped key/value heads: Hq a multiple of Hkv, query head h reads
    /// key/value head h / (Hq/Hkv)); output [B, T, Hq, D].
    /// </summary>
    /// <param name="keyMask">Optional [B, S] (flat): 1 where a key may be attended, 0 for padding.</param>
    /// <param name="causal">Query t attends keys s ≤ t + (S − T).</param>
    /// <param name="dropout">Attention-probability dropout, applied with mask key <paramref name="dropoutKey"/>.</param>
    /// <remarks>
    /// Masked scores are set to float.MinValue before the softmax, as transformers' eager attention adds
    /// finfo(float32).min: a row with every key masked comes out uniform rather than NaN. For short keys (S ≤ 4·D,
    /// so the probabilities take at most four times the output's memory) backward reads the probabilities forward
    /// kept, which saves a quarter of its products and all its exponentials; for longer keys it keeps only the
    /// output, one log-sum-exp per query row and the dropout mask's bits, and recomputes the probabilities block by
    /// block, so memory grows with T·S per head by one bit, not by the eight bytes of probabilities and mask.
    /// </remarks>
    public static Tensor Attention(Tensor q, Tensor k, Tensor v, ReadOnlySpan<int> keyMask = default, bool causal = false,
        float? scale = null, float dropout = 0f, ulong dropoutKey = 0)
    {
        if (q.Rank != 4 || k.Rank != 4 || v.Rank != 4)
            throw new ArgumentException($"attention: expected q [B, T, Hq, D], k and v [B, S, Hkv, D]; got {q.Describe()}, {k.Describe()}, {v.Describe()}.");
        var (batch, tq, hq, d) = (q.Dim(0), q.Dim(1), q.Dim(2), q.Dim(3));
        var (s, hkv) = (k.Dim(1), k.Dim(2));
        if (k.Dim(0) != batch || k.Dim(3) != d || !Shapes.SameShape(k.Shape, v.Shape))
            throw new ArgumentException($"attention: q {q.Describe()}, k {k.Describe()} and v {v.Describe()} do not fit together.");
        if (hkv == 0 || hq % hkv != 0)
            throw new ArgumentException($"attention: {hq} query heads are not a multiple of {hkv} key/value heads.");
        if (!keyMask.IsEmpty && keyMask.Length != batch * s)
            throw new ArgumentException($"attention: key mask has {keyMask.Length} entries, expected B·S = {batch * s}.");
        if (dropout is < 0 or >= 1) throw new ArgumentOutOfRangeException(nameof(dropout), $"attention: dropout {dropout} is outside [0, 1).");

        var shape = new AttentionShape(batch, tq, s, hq, hkv, d, scale ?? 1f / MathF.Sqrt(d), causal,
            keyMask.IsEmpty ? null : keyMask.ToArray(), dropout, dropoutKey);
        q = q.Contiguous();
        k = k.Contiguous();
        v = v.Contiguous();
        var output = Tensor.Uninitialized(batch, tq, hq, d);
        var lse = new float[batch * hq * tq];
        var keep = dropout > 0 ? new ulong[batch * hq * tq * DropoutMask.Words(s)] : null;
        var probabilities = s <= 4 * d && WillRecord(q, k, v) ? Tensor.Uninitialized(batch, hq, tq, s) : null;
        AttentionKernel.Forward(shape, q.Storage, k.Storage, v.Storage, output.Storage, lse, keep, probabilities?.Storage);
        return Record(output, "attention", [q, k, v], dout =>
        {
            // The kernel overwrites a new gradient array on its first write to each part instead of adding to zeros
            // cleared beforehand, which took a pass over three activations per layer. Inputs passed twice share one
            // array, which must then be cleared, as one write would not cover both.
            var distinct = !ReferenceEquals(q, k) && !ReferenceEquals(q, v) && !ReferenceEquals(k, v);
            AttentionKernel.Backward(shape, q.Storage, k.Storage, v.Storage, output.Storage, lse, keep, probabilities?.Storage,
                dout.Storage, Gradient(q, distinct), Gradient(k, distinct), Gradient(v, distinct));
        });
    }

    private static AttentionGradient? Gradient(Tensor t, bool mayOverwrite)
    {
        if (!NeedsGrad(t)) return null;
        return mayOverwrite ? new AttentionGradient(GradStorage(t, out var fresh), fresh) : new AttentionGradient(GradStorage(t), Fresh: false);
    }
}

/// <summary>An input's gradient array; when <paramref name="Fresh"/> its contents are undefined until first written.</summary>
internal sealed record AttentionGradient(float[] Storage, bool Fresh);

internal sealed record AttentionShape(int Batch, int T, int S, int Hq, int Hkv, int D, float Scale, bool Causal,
    int[]? KeyMask, float Dropout, ulong DropoutKey)
{
    public int Group => Hq / Hkv;

    public int QueryRowStride => Hq * D;

    public int KeyRowStride => Hkv * D;

    /// <summary>Query rows per block, so the score block stays near 1 MB whatever the key length.</summary>
    public int BlockRows => Math.Clamp(262_144 / Math.Max(1, S), 1, Math.Max(1, T));

    /// <summary>The padded keys of each batch row, or null without a key mask.</summary>
    public int[][]? MaskedKeys { get; } = KeyMask == null ? null
        : Enumerable.Range(0, Batch).Select(b => Enumerable.Range(0, S).Where(j => KeyMask[b * S + j] == 0).ToArray()).ToArray();

    /// <summary>Query t sees no key at or after this one (causal), apart from padded keys.</summary>
    public int VisibleEnd(int t) => Causal ? Math.Clamp(t + (S - T) + 1, 0, S) : S;

    /// <summary>Dropout mask words per query row.</summary>
    public int MaskWords => DropoutMask.Words(S);
}

/// <summary>
/// Attention forward and backward per (batch, key/value head): the query heads of a group run in turn, so the
/// key and value gradients of a group are written by one thread only and results do not depend on scheduling.
/// </summary>
internal static class AttentionKernel
{
    /// <param name="saved">Where to keep the probabilities for backward ([B, Hq, T, S]), or null.</param>
    public static void Forward(AttentionShape a, float[] q, float[] k, float[] v, float[] o, float[] lse, ulong[]? keep,
        float[]? saved) =>
        ForEachBlock(a, 4L * a.Group * a.T * a.S * a.D, 2, (blk, scratch) =>
        {
            var scores = saved == null ? scratch[0].AsSpan(0, blk.Rows * a.S) : saved.AsSpan(blk.LseOffset * a.S, blk.Rows * a.S);
            Scores(a, blk, q, k, scores);
            // Dropout writes beside the scores when they are kept, since backward needs them as they were.
            var pv = saved == null || keep == null ? scores : scratch[1].AsSpan(0, scores.Length);
            for (var r = 0; r < blk.Rows; r++)
            {
                var row = scores.Slice(r * a.S, a.S);
                lse[blk.LseOffset + r] = SoftmaxMasked(a, blk.B, blk.T0 + r, row);
                if (keep == null) continue;
                var words = keep.AsSpan((blk.LseOffset + r) * a.MaskWords, a.MaskWords);
                DropoutMask.Fill(a.DropoutKey, (ulong)(blk.LseOffset + r) * (ulong)a.S, a.S, a.Dropout, words);
                DropRow(a, keep, blk.LseOffset + r, row, pv.Slice(r * a.S, a.S));
            }
            Gemm.Default.Multiply(false, false, blk.Rows, a.D, a.S, 1f, pv, a.S, v.AsSpan(blk.KvOffset), a.KeyRowStride,
                0f, o.AsSpan(blk.QOffset), a.QueryRowStride);
        });

    /// <param name="saved">The probabilities forward kept, or null to recompute them from the log-sum-exps.</param>
    /// <remarks>
    /// A fresh gradient is overwritten where it is first written: dq by each block (every query row belongs to one),
    /// dk and dv by the first block of the group's first query head; later blocks add to that.
    /// </remarks>
    public static void Backward(AttentionShape a, float[] q, float[] k, float[] v, float[] o, float[] lse, ulong[]? keep,
        float[]? saved, float[] dout, AttentionGradient? dqs, AttentionGradient? dks, AttentionGradient? dvs)
    {
        if (a.T == 0)
        {
            // No block runs, so nothing would overwrite the keys' and values' fresh gradients.
            foreach (var g in (ReadOnlySpan<AttentionGradient?>)[dks, dvs])
                if (g is { Fresh: true }) g.Storage.AsSpan().Clear();
            return;
        }
        var gemm = Gemm.Default;
        var (dq, dk, dv) = (dqs?.Storage, dks?.Storage, dvs?.Storage);
        var needScores = dq != null || dk != null;
        ForEachBlock(a, 8L * a.Group * a.T * a.S * a.D, 3, (blk, scratch) =>
        {
            var (rows, qOffset, kvOffset) = (blk.Rows, blk.QOffset, blk.KvOffset);
            var firstOfGroup = blk.H % a.Group == 0 && blk.T0 == 0;
            var dp = scratch[1];
            Span<float> p;
            if (saved != null)
            {
                p = saved.AsSpan(blk.LseOffset * a.S, rows * a.S);
            }
            else
            {
                p = scratch[0].AsSpan(0, rows * a.S);
                Scores(a, blk, q, k, p);
                for (var r = 0; r < rows; r++) Probabilities(a, blk.B, blk.T0 + r, p.Slice(r * a.S, a.S), lse[blk.LseOffset + r]);
            }
            if (dv != null)
            {
                // dV += P̃ᵀ · dO, with P̃ the dropped-out probabilities that multiplied V.
                ReadOnlySpan<float> pv = p;
                if (keep != null)
                {
                    var dropped = scratch[2].AsSpan(0, p.Length);
                    for (var r = 0; r < rows; r++) DropRow(a, keep, blk.LseOffset + r, p.Slice(r * a.S, a.S), dropped.Slice(r * a.S, a.S));
                    pv = dropped;
                }
                gemm.Multiply(true, false, a.S, a.D, rows, 1f, pv, a.S, dout.AsSpan(qOffset), a.QueryRowStride,
                    firstOfGroup && dvs!.Fresh ? 0f : 1f, dv.AsSpan(kvOffset), a.KeyRowStride);
            }
            if (!needScores) return;
            // dP̃ = dO · Vᵀ; dS = P ⊙ (dP − D) with dP = dP̃ ⊙ mask/(1−p) and D_i = ⟨dO_i, O_i⟩.
            gemm.Multiply(false, true, rows, a.S, a.D, 1f, dout.AsSpan(qOffset), a.QueryRowStride,
                v.AsSpan(kvOffset), a.KeyRowStride, 0f, dp, a.S);
            for (var r = 0; r < rows; r++)
            {
                var rowOffset = qOffset + r * a.QueryRowStride;
                var di = TensorPrimitives.Dot(dout.AsSpan(rowOffset, a.D), o.AsSpan(rowOffset, a.D));
                var dpRow = dp.AsSpan(r * a.S, a.S);
                if (keep != null) DropRow(a, keep, blk.LseOffset + r, dpRow, dpRow);
                TensorPrimitives.AddMultiply(dpRow, -di, p.Slice(r * a.S, a.S), dpRow);
            }
            if (dq != null)
                gemm.Multiply(false, false, rows, a.D, a.S, a.Scale, dp, a.S, k.AsSpan(kvOffset), a.KeyRowStride,
                    dqs!.Fresh ? 0f : 1f, dq.AsSpan(qOffset), a.QueryRowStride);
            if (dk != null)
                gemm.Multiply(true, false, a.S, a.D, rows, a.Scale, dp, a.S, q.AsSpan(qOffset), a.QueryRowStride,
                    firstOfGroup && dks!.Fresh ? 0f : 1f, dk.AsSpan(kvOffset), a.KeyRowStride);
        });
    }

    /// <summary>A block of query rows of one head: where its queries, keys/values and log-sum-exps start.</summary>
    private readonly record struct Block(int B, int H, int T0, int Rows, int QOffset, int KvOffset, int LseOffset);

    /// <summary>
    /// Runs <paramref name="body"/> over every block of every (batch, key/value head) task, tasks claimed one at a
    /// time by the threads, with <paramref name="buffers"/> score-sized scratch arrays per thread. A task writes only
    /// its own rows of the output and gradients and overwrites the scratch it reads, so results do not depend on
    /// which thread runs it. In halves fixed beforehand, one core waited about 0.7 ms for the other at the end of each
    /// RoBERTa-base attention at two threads (15–20 ms per step).
    /// </summary>
    private static void ForEachBlock(AttentionShape a, long costPerTask, int buffers, Action<Block, float[][]> body) =>
        Threading.ForEachClaimed(a.Batch * a.Hkv, costPerTask,
            () => Enumerable.Range(0, buffers).Select(_ => new float[a.BlockRows * a.S]).ToArray(), (task, scratch) =>
            {
                var (b, g) = (task / a.Hkv, task % a.Hkv);
                var kvOffset = (b * a.S * a.Hkv + g) * a.D;
                for (var h = g * a.Group; h < (g + 1) * a.Group; h++)
                for (var t0 = 0; t0 < a.T; t0 += a.BlockRows)
                    body(new Block(b, h, t0, Math.Min(a.BlockRows, a.T - t0), ((b * a.T + t0) * a.Hq + h) * a.D, kvOffset,
                        (b * a.Hq + h) * a.T + t0), scratch);
            });

    /// <summary>The block's scaled scores q·kᵀ·scale into <paramref name="scores"/> [rows × S].</summary>
    private static void Scores(AttentionShape a, Block blk, float[] q, float[] k, Span<float> scores) =>
        Gemm.Default.Multiply(false, true, blk.Rows, a.S, a.D, a.Scale, q.AsSpan(blk.QOffset), a.QueryRowStride,
            k.AsSpan(blk.KvOffset), a.KeyRowStride, 0f, scores, a.S);

    /// <summary>Sets the scores of keys query t of batch b may not see to float.MinValue.</summary>
    private static void MaskRow(AttentionShape a, int b, int t, Span<float> row)
    {
        var end = a.VisibleEnd(t);
        row[end..].Fill(float.MinValue);
        if (a.MaskedKeys == null) return;
        foreach (var j in a.MaskedKeys[b])
            if (j < end) row[j] = float.MinValue;
    }

    /// <summary>Masks and normalises one row of scaled scores in place; returns its log-sum-exp.</summary>
    private static float SoftmaxMasked(AttentionShape a, int b, int t, Span<float> row)
    {
        MaskRow(a, b, t, row);
        return Ops.SoftmaxRow(row, row);
    }

    /// <summary>Recomputes probabilities from scaled scores and the saved log-sum-exp.</summary>
    private static void Probabilities(AttentionShape a, int b, int t, Span<float> row, float lse)
    {
        MaskRow(a, b, t, row);
        Special.ExpShifted(row, lse, row);
    }

    /// <summary>Query row <paramref name="row"/>'s dropout (its mask bits from forward) applied to x into y.</summary>
    private static void DropRow(AttentionShape a, ulong[] keep, int row, ReadOnlySpan<float> x, Span<float> y) =>
        DropoutMask.Apply(keep.AsSpan(row * a.MaskWords, a.MaskWords), x, y, 1f / (1f - a.Dropout));
}
