using EfficientFT.Tensors.Autograd;
using TensorOps = EfficientFT.Tensors.Ops;

namespace EfficientFT.Tensors.Tests;

/// <summary>
/// What every way of holding a frozen weight (bfloat16, packed) must leave unchanged: the ops over it give bit for
/// bit what they give over a float32 reference holding the same values.
/// </summary>
internal static class HeldWeightChecks
{
    private static Tensor Random(int seed, params int[] shape) => Tensor.Normal(new Rng((ulong)seed), 0f, 1f, shape);

    /// <summary>
    /// x·Wᵀ (+ bias) (+ code·Upᵀ) for x [2, <paramref name="tokens"/>, in]: the output and the gradients of input,
    /// bias and low-rank factors over <paramref name="held"/> equal those over <paramref name="reference"/>, and the
    /// held weight itself gets none.
    /// </summary>
    public static void LinearMatches(Tensor held, Tensor reference, int tokens, bool withBias, bool lowRank)
    {
        var (expectedY, expectedGrads) = RunLinear(reference, tokens, withBias, lowRank);
        var (y, grads) = RunLinear(held, tokens, withBias, lowRank);
        Assert.Equal(expectedY, y);
        Assert.Equal(expectedGrads, grads);
        Assert.Null(held.Grad);
    }

    /// <summary>Ops that read the held tensor as float32 (a product with its own transpose, a view, an add) match too.</summary>
    public static void OtherOpsMatch(Tensor held, Tensor reference)
    {
        using var _ = GradMode.NoGrad();
        var (rows, cols) = (held.Dim(0), held.Dim(1));
        Assert.Equal(TensorOps.MatMul(reference, reference.Transpose()).ToArray(), TensorOps.MatMul(held, held.Transpose()).ToArray());
        Assert.Equal(reference.Reshape(cols, rows).ToArray(), held.Reshape(cols, rows).ToArray());
        Assert.Equal((reference + reference).ToArray(), (held + held).ToArray());
    }

    private static (float[] Y, float[][] Grads) RunLinear(Tensor weight, int tokens, bool withBias, bool lowRank)
    {
        var (outFeatures, inFeatures) = (weight.Dim(0), weight.Dim(1));
        var x = Tensor.Parameter(Random(5, 2, tokens, inFeatures));
        var bias = withBias ? Tensor.Parameter(Random(6, outFeatures)) : null;
        var code = Tensor.Parameter(Random(7, 2, tokens, 3));
        var up = Tensor.Parameter(Random(8, outFeatures, 3));
        var y = lowRank ? TensorOps.LowRankLinear(x, weight, bias, code, up) : TensorOps.Linear(x, weight, bias);
        TensorOps.Sum(y * Random(9, y.ShapeArray())).Backward();
        Tensor?[] grads = [x.Grad, bias?.Grad, lowRank ? code.Grad : null, lowRank ? up.Grad : null];
        return (y.ToArray(), grads.Where(g => g != null).Select(g => g!.ToArray()).ToArray());
    }
}
