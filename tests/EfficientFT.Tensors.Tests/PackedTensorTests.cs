namespace EfficientFT.Tensors.Tests;

/// <summary>Tensors held packed (<see cref="Tensor.HoldPacked"/>), and the linear ops that read their panels.</summary>
public class PackedTensorTests
{
    private static Tensor Random(int seed, params int[] shape) => Tensor.Normal(new Rng((ulong)seed), 0f, 1f, shape);

    [Fact]
    public void HeldTensor_KeepsItsValuesExactly_AndWritesReachEveryReader()
    {
        var t = Random(1, 37, 70);
        var values = t.ToArray();
        var detached = t.Detach();
        Assert.True(t.HoldPacked());
        Assert.True(t.IsPacked);
        Assert.Equal(values, t.ToArray());
        Assert.Equal(values[36 * 70 + 69], t.At(36, 69));
        Assert.Contains("packed", Assert.Throws<InvalidOperationException>(() => t.AsSpan()).Message);
        Assert.True(t.HoldPacked());

        var shared = t.Detach();
        var next = Random(2, 37, 70);
        t.CopyFrom(next.AsSpan());
        Assert.Equal(next.ToArray(), t.ToArray());
        Assert.Equal(next.ToArray(), shared.ToArray());
        t.CopyFrom([1.5f, -2f], 69);
        Assert.Equal([next.At(0, 68), 1.5f, -2f, next.At(1, 1)], t.ToArray()[68..72]);
        Assert.True(t.IsPacked);
        Assert.Equal(values, detached.ToArray());
    }

    [Fact]
    public void HeldTensor_SetToTrain_GoesBackToFloat32Exactly()
    {
        var t = Random(3, 20, 9);
        var values = t.ToArray();
        t.HoldPacked();
        t.RequiresGrad = true;
        Assert.False(t.IsPacked);
        Assert.Equal(values, t.AsSpan().ToArray());
        Assert.Throws<InvalidOperationException>(() => t.HoldPacked());
    }

    [Fact]
    public void OnlyFrozenLeafMatricesArePacked_AndBFloat16OnesStaySo()
    {
        Assert.Throws<InvalidOperationException>(() => Random(4, 3, 4, 5).HoldPacked());
        Assert.Throws<InvalidOperationException>(() => Random(4, 4, 5).Transpose().HoldPacked());
        var trained = Tensor.Parameter(Random(4, 4, 5));
        Assert.Throws<InvalidOperationException>(() => (trained * 2f).HoldPacked());
        var held = Random(5, 4, 5);
        held.HoldInBFloat16();
        Assert.False(held.HoldPacked());
        Assert.True(held.IsBFloat16);

        var packed = Random(6, 4, 5);
        var rounded = packed.Clone();
        rounded.HoldInBFloat16();
        packed.HoldPacked();
        packed.HoldInBFloat16();
        Assert.True(packed.IsBFloat16 && !packed.IsPacked);
        Assert.Equal(rounded.ToArray(), packed.ToArray());
    }

    /// <summary>
    /// A linear layer over a packed weight equals one over the same weight in float32, bit for bit: output, and the
    /// gradients of input, bias and low-rank factors. The weight itself gets none and stays packed.
    /// </summary>
    [Theory]
    [InlineData(false, false)]
    [InlineData(true, false)]
    [InlineData(true, true)]
    public void Linear_OverAPackedWeight_EqualsTheFloat32Weight(bool withBias, bool lowRank)
    {
        const int outFeatures = 37, inFeatures = 300;
        var weight = Random(4, outFeatures, inFeatures);
        var reference = weight.Clone();
        Assert.True(weight.HoldPacked());
        HeldWeightChecks.LinearMatches(weight, reference, 90, withBias, lowRank);
        Assert.True(weight.IsPacked);
    }

    [Fact]
    public void OtherOps_ReadAPackedTensorAsFloat32()
    {
        var t = Random(11, 4, 6);
        var reference = t.Clone();
        Assert.True(t.HoldPacked());
        HeldWeightChecks.OtherOpsMatch(t, reference);
    }
}
