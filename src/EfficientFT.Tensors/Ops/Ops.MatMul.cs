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

    /// <summary>
    /// y + x · Wᵀ in one output buffer: y is copied in and the product added by the GEMM (β = 1), instead of the
    /// product getting a buffer of its own that an add then reads back. LoRA's y + s·B(Ax) at every adapted layer.
    /// Shapes: y [..., out], x [..., in] with the same leading axes, weight [out, in].
    /// </summary>
    public static Tensor AddLinear(Tensor y, Tensor x, Tensor weight)
    {
        if (weight.Rank != 2) throw new ArgumentException($"add_linear: weight {weight.Describe()} is not a matrix.");
        var (outFeatures, inFeatures) = (weight.Dim(0), weight.Dim(1));
        if (x.Rank == 0 || x.Dim(-1) != inFeatures)
            throw new ArgumentException($"add_linear: input {x.Describe()} does not end in {inFeatures} features for weight {weight.Describe()}.");
        var shape = x.ShapeArray();
        shape[^1] = outFeatures;
        if (!Shapes.SameShape(y.Shape, shape))
            throw new ArgumentException($"add_linear: {y.Describe()} is not the shape of {x.Describe()} · {weight.Describe()}ᵀ ({Shapes.Format(shape)}).");
        x = x.Contiguous();
        y = y.Contiguous();
        var rows = x.Size / Math.Max(1, inFeatures);
        var output = Tensor.Uninitialized(shape);
        y.AsSpan().CopyTo(output.AsSpan());
        var gemm = Gemm.Default;
        var (wd, wt, ldw) = Operand(weight, true);
        gemm.Multiply(false, wt, rows, outFeatures, inFeatures, 1f, x.Storage, inFeatures, wd, ldw, 1f, output.AsSpan(), outFeatures);
        return Record(output, "add_linear", [y, x, weight], dy =>
        {
            LinearBackward(dy.Storage, x, weight, rows, inFeatures, outFeatures, gemm);
            // Last: y may take dy's buffer over, and the products above read it.
            if (NeedsGrad(y)) Backprop.AccumulateOwned(y, dy);
        });
    }

    /// <summary>The input and weight gradients of x · Wᵀ given the output's gradient g, for those that need one.</summary>
    private static void LinearBackward(float[] g, Tensor x, Tensor weight, int rows, int inFeatures, int outFeatures, IGemm gemm)
    {
        if (NeedsGrad(x))
        {
            // dx = dy · W
            var (wd, wt, ldw) = Operand(weight, false);
            var dx = GradOf(x, out var overwrite);
            gemm.Multiply(false, wt, rows, inFeatures, outFeatures, 1f, g, outFeatures, wd, ldw, overwrite ? 0f : 1f, dx, inFeatures);
        }
        if (NeedsGrad(weight))
        {
            // dW = dyᵀ · x
            var dw = GradOf(weight, out var overwrite);
            gemm.Multiply(true, false, outFeatures, inFeatures, rows, 1f, g, outFeatures, x.Storage, inFeatures, overwrite ? 0f : 1f, dw, inFeatures);
        }
    }

    /// <summary>
    /// A linear layer, x · Wᵀ + b, as torch.nn.functional.linear: x [..., in], weight [out, in], bias [out].
    /// </summary>
    public static Tensor Linear(Tensor x, Tensor weight, Tensor? bias = null)
    {
        if (weight.Rank != 2) throw new ArgumentException($"linear: weight {weight.Describe()} is not a matrix.");
        var (outFeatures, inFeatures) = (weight.Dim(0), weight.Dim(1));
        if (x.Rank == 0 || x.Dim(-1) != inFeatures)
            throw new ArgumentException($"linear: input {x.Describe()} does not end in {inFeatures} features for weight {weight.Describe()}.");
        if (bias != null) CheckVector(bias, outFeatures, "linear", "bias", weight);
        x = x.Contiguous();
        var rows = x.Size / Math.Max(1, inFeatures);
        var shape = x.ShapeArray();
        shape[^1] = outFeatures;
        var output = Tensor.Uninitialized(shape);
        var gemm = Gemm.Default;
        var (wd, wt, ldw) = Operand(weight, true);
        gemm.Multiply(false, wt, rows, outFeatures, inFeatures, 1f, x.Storage, inFeatures, wd, ldw, 0f, output.AsSpan(), outFeatures);
        if (bias != null)
        {
            var bs = bias.Contiguous().Storage;
            var ys = output.Storage;
            Threading.For(rows, outFeatures, (r0, r1) =>
            {
                for (var r = r0; r < r1; r++)
                {
                    var y = ys.AsSpan(r * outFeatures, outFeatures);
                    TensorPrimitives.Add(y, bs.AsSpan(0, outFeatures), y);
                }
            });
        }
        Tensor[] inputs = bias == null ? [x, weight] : [x, weight, bias];
        return Record(output, "linear", inputs, dy =>
        {
            var g = dy.Storage;
            LinearBackward(g, x, weight, rows, inFeatures, outFeatures, gemm);
            if (bias != null && NeedsGrad(bias))
            {
                var db = GradOf(bias);
                for (var r = 0; r < rows; r++) TensorPrimitives.Add(db, g.AsSpan(r * outFeatures, outFeatures), db);
            }
        });
    }
}
