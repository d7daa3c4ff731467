using TensorOps = EfficientFT.Tensors.Ops;

namespace EfficientFT.Tensors.Tests;

/// <summary>A linear layer over a given weight, run forward and backward on fixed random inputs.</summary>
internal static class LinearProbe
{
    private static Tensor Random(int seed, params int[] shape) => Tensor.Normal(new Rng((ulong)seed), 0f, 1f, shape);

    /// <summary>
    /// The output of x·Wᵀ (+ bias) (+ code·Upᵀ) for x [2, <paramref name="tokens"/>, in], and the gradients of a
    /// random weighting of it with respect to the input, bias and low-rank factors.
    /// </summary>
    public static (float[] Y, float[][] Grads) Run(Tensor weight, int tokens, bool withBias, bool lowRank)
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
