using System.Numerics.Tensors;
using EfficientFT.Tensors.Autograd;
using EfficientFT.Tensors.Blas;

namespace EfficientFT.Tensors;

public static partial class Ops
{
    /// <summary>
    /// Batched matrix product a[..., m, k] · b[..., k, n]. Batch axes must be equal, or one operand is a plain
    /// matrix shared by every batch. Transposed views are read in place (the GEMM gets the transpose flag).
    /// </summary>
    public static Tensor MatMul(Tensor a, Tensor b)
    {
        if (a.Rank < 2 || b.Rank < 2)
            throw new ArgumentException($"matmul: operands {a.Describe()} and {b.Describe()} need at least two axes each.");
        var (m, k) = (a.Dim(-2), a.Dim(-1));
        var n = b.Dim(-1);
        if (b.Dim(-2) != k)
            throw new ArgumentException($"matmul: inner sizes differ: {a.Describe()} · {b.Describe()} ({k} vs {b.Dim(-2)}).");
        var aBatch = a.ShapeArray()[..^2];
        var bBatch = b.ShapeArray()[..^2];
        int[] batchShape;
        if (aBatch.AsSpan().SequenceEqual(bBatch)) batchShape = aBatch;
        else if (bBatch.Length == 0) batchShape = aBatch;
        else if (aBatch.Length == 0) batchShape = bBatch;
        else throw new ArgumentException($"matmul: batch axes of {a.Describe()} and {b.Describe()} differ.");
        var batch = Shapes.Size(batchShape);
        var aShared = aBatch.Length == 0 && batch > 1;
        var bShared = bBatch.Length == 0 && batch > 1;
        var output = Tensor.Uninitialized([.. batchShape, m, n]);
        var gemm = Gemm.Default;

        var (ad, at, lda) = Operand(a, false);
        var (bd, bt, ldb) = Operand(b, false);
        if (bShared && !a.IsTransposed)
        {
            // A stack of row-major matrices times one matrix is a single tall product.
            gemm.Multiply(false, bt, batch * m, n, k, 1f, ad, lda, bd, ldb, 0f, output.AsSpan(), n);
        }
        else
        {
            for (var i = 0; i < batch; i++)
                gemm.Multiply(at, bt, m, n, k, 1f, ad.AsSpan(aShared ? 0 : i * m * k), lda,
                    bd.AsSpan(bShared ? 0 : i * k * n), ldb, 0f, output.AsSpan().Slice(i * m * n, m * n), n);
        }

        return Record(output, "matmul", [a, b], dy =>
        {
            var g = dy.Storage;
            if (NeedsGrad(a))
            {
                // dA = dC · Bᵀ
                var (btd, btt, btld) = Operand(b, true);
                var da = GradOf(a);
                for (var i = 0; i < batch; i++)
                    gemm.Multiply(false, btt, m, k, n, 1f, g.AsSpan(i * m * n), n, btd.AsSpan(bShared ? 0 : i * k * n), btld,
                        1f, da.Slice(aShared ? 0 : i * m * k, m * k), k);
            }
            if (NeedsGrad(b))
            {
                // dB = Aᵀ · dC
                var db = GradOf(b);
                if (bShared && !a.IsTransposed)
                {
                    gemm.Multiply(true, false, k, n, batch * m, 1f, ad, k, g, n, 1f, db, n);
                }
                else
                {
                    var (atd, att, atld) = Operand(a, true);
                    for (var i = 0; i < batch; i++)
                        gemm.Multiply(att, false, k, n, m, 1f, atd.AsSpan(aShared ? 0 : i * m * k), atld, g.AsSpan(i * m * n), n,
                            1f, db.Slice(bShared ? 0 : i * k * n, k * n), n);
                }
            }
        });
    }

    /// <summary>The input and weight gradients of x · Wᵀ given the output's gradient g, for those that need one.</summary>
    private static void LinearBackward(float[] g, Tensor x, Tensor weight, int rows, int inFeatures, int outFeatures, IGemm gemm)
    {
        if (NeedsGrad(x))
        {
            // dx = dy · W
            var dx = GradOf(x, out var overwrite);
            TimesWeight(gemm, g, rows, weight, transposed: false, overwrite ? 0f : 1f, default, dx);
        }
        if (NeedsGrad(weight))
        {
            // dW = dyᵀ · x
            var dw = GradOf(weight, out var overwrite);
            gemm.Multiply(true, false, outFeatures, inFeatures, rows, 1f, g, outFeatures, x.Storage, inFeatures, overwrite ? 0f : 1f, dw, inFeatures);
        }
    }

    /// <summary>
    /// C [rows, n] = a [rows, k] · op(W) + (bias, or beta·C), with op(W) = Wᵀ when <paramref name="transposed"/>: a
    /// linear layer's product with its weight, which a weight held in bfloat16 or packed gives the GEMM as it is.
    /// </summary>
    private static void TimesWeight(IGemm gemm, ReadOnlySpan<float> a, int rows, Tensor weight, bool transposed, float beta,
        ReadOnlySpan<float> bias, Span<float> c)
    {
        var (n, k) = transposed ? (weight.Dim(0), weight.Dim(1)) : (weight.Dim(1), weight.Dim(0));
        if (weight.Packed is { } packed)
        {
            gemm.MultiplyPacked(transposed, rows, 1f, a, k, packed, beta, bias, c, n);
            return;
        }
        if (weight.IsBFloat16)
        {
            gemm.MultiplyBFloat16(false, transposed, rows, n, k, 1f, a, k, weight.BFloat16Storage, weight.Dim(1), beta, bias, c, n);
            return;
        }
        var (wd, wt, ldw) = Operand(weight, transposed);
        if (bias.IsEmpty) gemm.Multiply(false, wt, rows, n, k, 1f, a, k, wd, ldw, beta, c, n);
        else gemm.MultiplyWithBias(false, wt, rows, n, k, 1f, a, k, wd, ldw, bias, c, n);
    }

    /// <summary>
    /// A linear layer, x · Wᵀ + b, as torch.nn.functional.linear: x [..., in], weight [out, in], bias [out]. A frozen
    /// weight held in bfloat16 is read as it is, widened as the product packs it.
    /// </summary>
    public static Tensor Linear(Tensor x, Tensor weight, Tensor? bias = null) => Linear(x, weight, bias, null);

    /// <summary>
    /// A linear layer plus a low-rank update, x · Wᵀ + b + code · Upᵀ, whose down-projection (code [..., r]) the caller
    /// computed: LoRA's W x + b + s·B(A x) with code = s·A x and up = B [out, r]. The update's product accumulates
    /// onto the layer's output (GEMM β = 1), so it never gets a [tokens, out] buffer of its own for an add to read back.
    /// </summary>
    public static Tensor LowRankLinear(Tensor x, Tensor weight, Tensor? bias, Tensor code, Tensor up) =>
        Linear(x, weight, bias, (code, up));

    private static Tensor Linear(Tensor x, Tensor weight, Tensor? bias, (Tensor Code, Tensor Up)? update)
    {
        var op = update == null ? "linear" : "low_rank_linear";
        if (weight.Rank != 2) throw new ArgumentException($"{op}: weight {weight.Describe()} is not a matrix.");
        var (outFeatures, inFeatures) = (weight.Dim(0), weight.Dim(1));
        if (x.Rank == 0 || x.Dim(-1) != inFeatures)
            throw new ArgumentException($"{op}: input {x.Describe()} does not end in {inFeatures} features for weight {weight.Describe()}.");
        if (bias != null) CheckVector(bias, outFeatures, op, "bias", weight);
        if (update is var (code0, up0))
        {
            if (up0.Rank != 2 || up0.Dim(0) != outFeatures)
                throw new ArgumentException($"{op}: up-projection {up0.Describe()} is not [{outFeatures}, r] for weight {weight.Describe()}.");
            if (code0.Rank != x.Rank || !Shapes.SameShape(code0.Shape[..^1], x.Shape[..^1]) || code0.Dim(-1) != up0.Dim(1))
                throw new ArgumentException($"{op}: code {code0.Describe()} is not the input's leading axes × {up0.Dim(1)} for input {x.Describe()}.");
            update = (code0.Contiguous(), up0);
        }
        x = x.Contiguous();
        var rows = x.Size / Math.Max(1, inFeatures);
        var shape = x.ShapeArray();
        shape[^1] = outFeatures;
        var output = Tensor.Uninitialized(shape);
        var gemm = Gemm.Default;
        TimesWeight(gemm, x.Storage, rows, weight, transposed: true, 0f, bias == null ? default : bias.Contiguous().AsSpan(), output.AsSpan());
        Tensor[] inputs = bias == null ? [x, weight] : [x, weight, bias];
        if (update is var (code, up))
        {
            var (ud, ut, ldu) = Operand(up, true);
            gemm.Multiply(false, ut, rows, outFeatures, up.Dim(1), 1f, code.Storage, up.Dim(1), ud, ldu, 1f, output.AsSpan(), outFeatures);
            inputs = [.. inputs, code, up];
        }
        return Record(output, op, inputs, dy =>
        {
            var g = dy.Storage;
            LinearBackward(g, x, weight, rows, inFeatures, outFeatures, gemm);
            if (update is var (code, up)) LinearBackward(g, code, up, rows, up.Dim(1), outFeatures, gemm);
            if (bias != null && NeedsGrad(bias))
            {
                var db = GradOf(bias);
                for (var r = 0; r < rows; r++) TensorPrimitives.Add(db, g.AsSpan(r * outFeatures, outFeatures), db);
            }
        });
    }
}
