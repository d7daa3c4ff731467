using System.Numerics.Tensors;

namespace EfficientFT.Tensors;

public static partial class Ops
{
    /// <summary>Softmax over the last axis, stable (the row maximum is subtracted before exp).</summary>
    public static Tensor Softmax(Tensor x)
    {
        x = x.Contiguous();
        var (rows, cols) = RowsCols(x, "softmax");
        var output = Tensor.Uninitialized(x.ShapeArray());
        var xs = x.Storage;
        var ys = output.Storage;
        Threading.For(rows, 8L * cols, (r0, r1) =>
        {
            for (var r = r0; r < r1; r++) SoftmaxRow(xs.AsSpan(r * cols, cols), ys.AsSpan(r * cols, cols));
        });
        return Record(output, "softmax", [x], dy =>
        {
            var dxs = GradStorage(x);
            var dys = dy.Storage;
            Threading.For(rows, 6L * cols, (r0, r1) =>
            {
                for (var r = r0; r < r1; r++)
                {
                    // dx = y ⊙ (dy − ⟨dy, y⟩)
                    var y = ys.AsSpan(r * cols, cols);
                    var g = dys.AsSpan(r * cols, cols);
                    var dx = dxs.AsSpan(r * cols, cols);
                    var dot = TensorPrimitives.Dot(g, y);
                    for (var c = 0; c < cols; c++) dx[c] += y[c] * (g[c] - dot);
                }
            });
        });
    }

    /// <summary>log(softmax(x)) over the last axis, computed as x − logsumexp(x) so it never takes log of 0.</summary>
    public static Tensor LogSoftmax(Tensor x)
    {
        x = x.Contiguous();
        var (rows, cols) = RowsCols(x, "log_softmax");
        var output = Tensor.Uninitialized(x.ShapeArray());
        var xs = x.Storage;
        var ys = output.Storage;
        Threading.For(rows, 8L * cols, (r0, r1) =>
        {
            for (var r = r0; r < r1; r++)
            {
                var row = xs.AsSpan(r * cols, cols);
                TensorPrimitives.Subtract(row, LogSumExp(row), ys.AsSpan(r * cols, cols));
            }
        });
        return Record(output, "log_softmax", [x], dy =>
        {
            var dxs = GradStorage(x);
            var dys = dy.Storage;
            Threading.For(rows, 8L * cols, (r0, r1) =>
            {
                for (var r = r0; r < r1; r++)
                {
                    // dx = dy − softmax(x)·Σdy
                    var y = ys.AsSpan(r * cols, cols);
                    var g = dys.AsSpan(r * cols, cols);
                    var dx = dxs.AsSpan(r * cols, cols);
                    var total = TensorPrimitives.Sum(g);
                    for (var c = 0; c < cols; c++) dx[c] += g[c] - MathF.Exp(y[c]) * total;
                }
            });
        });
    }

    /// <summary>
    /// Mean cross-entropy of <paramref name="logits"/> [..., C] against class indices, one per row. Rows whose
    /// target is <paramref name="ignoreIndex"/> count neither in the sum nor in the mean, as in PyTorch.
    /// </summary>
    public static Tensor CrossEntropy(Tensor logits, ReadOnlySpan<int> targets, int ignoreIndex = -100)
    {
        logits = logits.Contiguous();
        var (rows, classes) = RowsCols(logits, "cross_entropy");
        if (targets.Length != rows)
            throw new ArgumentException($"cross_entropy: {targets.Length} targets for logits {logits.Describe()} ({rows} rows).");
        var labels = targets.ToArray();
        var counted = 0;
        for (var r = 0; r < rows; r++)
        {
            if (labels[r] == ignoreIndex) continue;
            if ((uint)labels[r] >= (uint)classes)
                throw new ArgumentOutOfRangeException(nameof(targets), $"cross_entropy: target {labels[r]} at row {r} is outside [0, {classes}) (and is not the ignore index {ignoreIndex}).");
            counted++;
        }
        if (counted == 0)
            throw new ArgumentException($"cross_entropy: every one of the {rows} targets is the ignore index {ignoreIndex}; the mean is undefined.");

        var xs = logits.Storage;
        var lse = new float[rows];
        Threading.For(rows, 4L * classes, (r0, r1) =>
        {
            for (var r = r0; r < r1; r++)
                if (labels[r] != ignoreIndex) lse[r] = LogSumExp(xs.AsSpan(r * classes, classes));
        });
        double total = 0;
        for (var r = 0; r < rows; r++)
            if (labels[r] != ignoreIndex) total += lse[r] - xs[r * classes + labels[r]];
        var output = Tensor.Scalar((float)(total / counted));
        return Record(output, "cross_entropy", [logits], dy =>
        {
            var scale = dy.AsSpan()[0] / counted;
            var dxs = GradStorage(logits, out var fresh);
            Threading.For(rows, 4L * classes, (r0, r1) =>
            {
                const int chunk = 2048;
                Span<float> p = stackalloc float[Math.Min(chunk, classes)];
                for (var r = r0; r < r1; r++)
                {
                    var drow = ClearIfFresh(dxs, r * classes, classes, fresh);
                    if (labels[r] == ignoreIndex) continue;
                    // d/dx = scale · (softmax(x) − onehot(label)).
                    for (var c0 = 0; c0 < classes; c0 += chunk)
                    {
                        var n = Math.Min(chunk, classes - c0);
                        var pc = p[..n];
                        TensorPrimitives.Subtract(xs.AsSpan(r * classes + c0, n), lse[r], pc);
                        TensorPrimitives.Exp(pc, pc);
                        TensorPrimitives.MultiplyAdd(pc, scale, drow.Slice(c0, n), drow.Slice(c0, n));
                    }
                    drow[labels[r]] -= scale;
                }
            });
        });
    }

    /// <summary>Mean squared error mean((prediction − target)²); shapes must match.</summary>
    public static Tensor MseLoss(Tensor prediction, Tensor target)
    {
        if (!Shapes.SameShape(prediction.Shape, target.Shape))
            throw new ArgumentException($"mse_loss: prediction {prediction.Describe()} and target {target.Describe()} differ in shape.");
        prediction = prediction.Contiguous();
        target = target.Contiguous();
        var diff = new float[prediction.Size];
        TensorPrimitives.Subtract(prediction.AsSpan(), target.AsSpan(), diff);
        var output = Tensor.Scalar(TensorPrimitives.Dot(diff, diff) / Math.Max(1, diff.Length));
        return Record(output, "mse_loss", [prediction, target], dy =>
        {
            var scale = 2f * dy.AsSpan()[0] / Math.Max(1, diff.Length);
            if (NeedsGrad(prediction))
            {
                var dp = GradOf(prediction);
                TensorPrimitives.MultiplyAdd(diff, scale, dp, dp);
            }
            if (NeedsGrad(target))
            {
                var dt = GradOf(target);
                TensorPrimitives.MultiplyAdd(diff, -scale, dt, dt);
            }
        });
    }

    /// <summary>
    /// Mean binary cross-entropy of <paramref name="logits"/> against <paramref name="target"/> probabilities of the
    /// same shape, as PyTorch's BCEWithLogitsLoss: −mean(y·log σ(x) + (1 − y)·log(1 − σ(x))), computed as
    /// max(x, 0) − x·y + log(1 + e^(−|x|)) so a large logit neither overflows nor takes the log of 0.
    /// </summary>
    public static Tensor BinaryCrossEntropyWithLogits(Tensor logits, Tensor target)
    {
        if (!Shapes.SameShape(logits.Shape, target.Shape))
            throw new ArgumentException($"binary_cross_entropy_with_logits: logits {logits.Describe()} and target {target.Describe()} differ in shape.");
        if (target.RequiresGrad)
            throw new ArgumentException("binary_cross_entropy_with_logits: the target is data here; its gradient is not computed.");
        logits = logits.Contiguous();
        var xs = logits.AsSpan().ToArray();
        var ys = target.Contiguous().AsSpan().ToArray();
        var n = Math.Max(1, logits.Size);
        double total = 0;
        for (var i = 0; i < xs.Length; i++)
            total += Math.Max(xs[i], 0) - (double)xs[i] * ys[i] + Math.Log(1 + Math.Exp(-Math.Abs(xs[i])));
        return Record(Tensor.Scalar((float)(total / n)), "binary_cross_entropy_with_logits", [logits], dy =>
        {
            // d/dx = (σ(x) − y) / n.
            var scale = dy.AsSpan()[0] / n;
            var sigma = new float[xs.Length];
            TensorPrimitives.Sigmoid(xs, sigma);
            TensorPrimitives.Subtract(sigma, ys, sigma);
            var dx = GradOf(logits);
            TensorPrimitives.MultiplyAdd(sigma, scale, dx, dx);
        });
    }

    /// <summary>y = softmax(x) for one row (y may be x); returns the row's log-sum-exp, which attention keeps.</summary>
    internal static float SoftmaxRow(ReadOnlySpan<float> x, Span<float> y)
    {
        var max = TensorPrimitives.Max(x);
        var sum = Special.ExpShifted(x, max, y);
        TensorPrimitives.Divide(y, sum, y);
        return max + MathF.Log(sum);
    }

    private static float LogSumExp(ReadOnlySpan<float> x)
    {
        var max = TensorPrimitives.Max(x);
        if (float.IsNegativeInfinity(max)) return max;
        // Exponentials a vector at a time in cache-sized chunks; the chunk sums add up in double, in order, so a long
        // row (a 128 k vocabulary) loses no precision to the float sums. TensorPrimitives.Exp here and in
        // cross-entropy's backward rather than Special.ExpShifted: with it the LoRA+ case stays within the peft
        // fixture's tolerance after three AdamW steps (with Special.Exp one B entry moved 6.2e-6 against 5.6e-6).
        const int chunk = 2048;
        Span<float> e = stackalloc float[Math.Min(chunk, x.Length)];
        double sum = 0;
        for (var start = 0; start < x.Length; start += chunk)
        {
            var n = Math.Min(chunk, x.Length - start);
            TensorPrimitives.Subtract(x.Slice(start, n), max, e[..n]);
            TensorPrimitives.Exp(e[..n], e[..n]);
            sum += TensorPrimitives.Sum<float>(e[..n]);
        }
        return max + (float)Math.Log(sum);
    }

    private static (int Rows, int Cols) RowsCols(Tensor x, string op)
    {
        if (x.Rank == 0) throw new ArgumentException($"{op}: needs at least one axis, got a scalar.");
        var cols = x.Dim(-1);
        if (cols == 0) throw new ArgumentException($"{op}: the last axis of {x.Describe()} is empty.");
        return (x.Size / cols, cols);
    }
}
