namespace EfficientFT.Tensors.Tests;

/// <summary>bfloat16 conversion, tensors held in bfloat16, and the ops that read them as they are.</summary>
public class BFloat16Tests
{
    private static float Up(ushort bits) => BitConverter.UInt32BitsToSingle((uint)bits << 16);

    /// <summary>
    /// Round to nearest, ties to even, stated directly: no bfloat16 lies closer to x than the one chosen, and at an
    /// exact midpoint the chosen one has an even last bit. Checked on random bit patterns over every exponent.
    /// </summary>
    [Fact]
    public void FromSingle_IsTheNearestBFloat16_TiesToEven()
    {
        var rng = new Random(3);
        for (var i = 0; i < 200_000; i++)
        {
            var x = BitConverter.UInt32BitsToSingle((uint)rng.NextInt64(0, 1L << 32));
            if (!float.IsFinite(x)) continue;
            var h = BFloat16.FromSingle(x);
            var chosen = Up(h);
            if (float.IsInfinity(chosen))
            {
                // Overflow: x is at least halfway from the largest finite bfloat16 to the next power.
                Assert.True(Math.Abs((double)x) >= (double)Up(0x7F7F) + Math.Pow(2, 127 - 8), $"{x} rounded to {chosen}");
                continue;
            }
            var error = Math.Abs((double)x - chosen);
            foreach (var neighbour in new[] { (ushort)(h + 1), (ushort)(h - 1) })
            {
                var other = Up(neighbour);
                if (float.IsNaN(other) || Math.Sign(other) != Math.Sign(chosen) && chosen != 0) continue;
                var otherError = Math.Abs((double)x - other);
                Assert.True(error <= otherError, $"{x}: chose {chosen}, but {other} is closer");
                if (error == otherError) Assert.Equal(0, h & 1);
            }
        }
    }

    [Fact]
    public void FromSingle_SpecialValues()
    {
        Assert.Equal(0x7FC0, BFloat16.FromSingle(float.NaN));
        Assert.Equal(0x7FC0, BFloat16.FromSingle(BitConverter.UInt32BitsToSingle(0x7FFFFFFF)));
        Assert.Equal(0x7F80, BFloat16.FromSingle(float.PositiveInfinity));
        Assert.Equal(0xFF80, BFloat16.FromSingle(float.NegativeInfinity));
        Assert.Equal(0x7F80, BFloat16.FromSingle(float.MaxValue));
        Assert.Equal(0x8000, BFloat16.FromSingle(-0f));
        // 1 + 2⁻⁸ is halfway between 1 and 1 + 2⁻⁷ and goes to 1 (even); 1 + 3·2⁻⁸ goes up to 1 + 2⁻⁶ (even).
        Assert.Equal(1f, Up(BFloat16.FromSingle(1f + 1f / 256)));
        Assert.Equal(1f + 1f / 64, Up(BFloat16.FromSingle(1f + 3f / 256)));
    }

    [Fact]
    public void Widen_IsExactForEveryCode_AndNarrowingGivesTheCodeBack()
    {
        var codes = Enumerable.Range(0, 1 << 16).Select(c => (ushort)c).ToArray();
        var widened = new float[codes.Length];
        BFloat16.Widen(codes, widened);
        var back = new ushort[codes.Length];
        BFloat16.Narrow(widened, back);
        for (var c = 0; c < codes.Length; c++)
        {
            Assert.Equal((uint)c << 16, BitConverter.SingleToUInt32Bits(widened[c]));
            if (!float.IsNaN(widened[c])) Assert.Equal(codes[c], back[c]);
        }
    }

    [Fact]
    public void Widen_OfEveryLength_MatchesTheScalarWidening()
    {
        for (var length = 0; length < 40; length++)
        {
            var codes = Enumerable.Range(0, length).Select(i => (ushort)(0x3F80 + 37 * i)).ToArray();
            var widened = new float[length];
            BFloat16.Widen(codes, widened);
            Assert.Equal(codes.Select(BFloat16.ToSingle), widened);
        }
    }

    private static Tensor Random(int seed, params int[] shape) => Tensor.Normal(new Rng((ulong)seed), 0f, 1f, shape);

    private static Tensor Rounded(Tensor t)
    {
        var values = t.ToArray();
        for (var i = 0; i < values.Length; i++) values[i] = Up(BFloat16.FromSingle(values[i]));
        return Tensor.FromArray(values, t.ShapeArray());
    }

    [Fact]
    public void HeldTensor_ReadsAsItsRoundedValues_AndWritesRound()
    {
        var t = Random(1, 3, 5);
        var rounded = Rounded(t);
        Assert.NotEqual(rounded.ToArray(), t.ToArray());
        t.HoldInBFloat16();
        Assert.True(t.IsBFloat16);
        Assert.Equal(rounded.ToArray(), t.ToArray());
        Assert.Equal(rounded.ToArray(), t.Contiguous().ToArray());
        Assert.Equal(rounded.At(2, 4), t.At(2, 4));
        Assert.Equal(rounded.ToArray(), t.Detach().ToArray());
        Assert.Contains("bfloat16", Assert.Throws<InvalidOperationException>(() => t.AsSpan()).Message);

        var next = Random(2, 3, 5);
        t.CopyFrom(next.AsSpan());
        Assert.Equal(Rounded(next).ToArray(), t.ToArray());
        Assert.Equal((t * 2f).ToArray(), Rounded(next).ToArray().Select(v => v * 2f));
    }

    [Fact]
    public void RangedWrites_LandWhereAskedAndRefuseToOverrun()
    {
        var single = Tensor.Zeros(2, 5);
        single.CopyFrom([1.5f, 2.5f, 1f / 3], 6);
        Assert.Equal([0f, 0f, 0f, 0f, 0f, 0f, 1.5f, 2.5f, 1f / 3, 0f], single.ToArray());
        var held = Tensor.Zeros(2, 5);
        held.HoldInBFloat16();
        held.CopyFrom([1.5f, 2.5f, 1f / 3], 6);
        Assert.Equal([0f, 0f, 0f, 0f, 0f, 0f, 1.5f, 2.5f, Up(BFloat16.FromSingle(1f / 3)), 0f], held.ToArray());
        held.CopyBFloat16From([0x3F80, 0xC000], 0);
        Assert.Equal([1f, -2f], held.ToArray()[..2]);
        Assert.Throws<ArgumentException>(() => held.CopyFrom([1f, 2f], 9));
        Assert.Throws<ArgumentException>(() => held.CopyBFloat16From([1, 2], -1));
        Assert.Throws<InvalidOperationException>(() => single.CopyBFloat16From([1], 0));
    }

    [Fact]
    public void HeldTensor_SetToTrain_GoesBackToFloat32Exactly()
    {
        var t = Random(3, 4, 4);
        t.HoldInBFloat16();
        var held = t.ToArray();
        t.RequiresGrad = true;
        Assert.False(t.IsBFloat16);
        Assert.Equal(held, t.ToArray());
        Assert.Throws<InvalidOperationException>(() => t.HoldInBFloat16());
        Assert.Throws<InvalidOperationException>(() => (t * 2f).HoldInBFloat16());
    }

    /// <summary>
    /// A linear layer over a weight held in bfloat16 equals one over the rounded weight in float32, bit for bit: output,
    /// and the gradients of input, bias and low-rank factors. The weight itself gets none.
    /// </summary>
    [Theory]
    [InlineData(false, false)]
    [InlineData(true, false)]
    [InlineData(true, true)]
    public void Linear_OverAHeldWeight_EqualsTheRoundedFloat32Weight(bool withBias, bool lowRank)
    {
        const int outFeatures = 37, inFeatures = 70;
        var weight = Random(4, outFeatures, inFeatures);
        var reference = Rounded(weight);
        weight.HoldInBFloat16();
        HeldWeightChecks.LinearMatches(weight, reference, 9, withBias, lowRank);
        Assert.True(weight.IsBFloat16);
    }

    [Fact]
    public void Embedding_OfAHeldTable_EqualsTheRoundedFloat32Table()
    {
        var table = Random(10, 11, 6);
        var reference = Rounded(table);
        table.HoldInBFloat16();
        int[] ids = [3, 0, 10, 3, 7];
        Assert.Equal(EfficientFT.Tensors.Ops.Embedding(reference, ids, [5]).ToArray(), EfficientFT.Tensors.Ops.Embedding(table, ids, [5]).ToArray());
        Assert.True(table.IsBFloat16);
    }

    [Fact]
    public void OtherOps_ReadAHeldTensorAsFloat32()
    {
        var t = Random(11, 4, 6);
        var reference = Rounded(t);
        t.HoldInBFloat16();
        HeldWeightChecks.OtherOpsMatch(t, reference);
    }
}
