using EfficientFT.Tensors.Autograd;
using T = EfficientFT.Tensors.Tensor;
using O = EfficientFT.Tensors.Ops;

namespace EfficientFT.Tensors.Tests.Ops;

/// <summary>Ops.Checkpoint against the same segment recorded directly: the same output and the same gradients.</summary>
public sealed class CheckpointTests
{
    /// <summary>linear, GELU, dropout (its key from the generator), linear: parameters inside, randomness inside.</summary>
    private static T Segment(T x, T w1, T w2, Rng rng) =>
        O.Linear(O.Dropout(O.Gelu(O.Linear(x, w1, null)), 0.25f, rng), w2, null);

    /// <param name="rows">With 512 rows the hidden activations reach the recycler's minimum array size.</param>
    private static (T X, T W1, T W2, T Dy) Inputs(bool inputNeedsGrad, int rows = 5)
    {
        var rng = new Rng(21);
        var x = T.Uniform(rng, -1, 1, rows, 6);
        if (inputNeedsGrad) x = T.Parameter(x);
        var hidden = rows < 100 ? 7 : 600;
        return (x, T.Parameter(T.Uniform(rng, -1, 1, hidden, 6)), T.Parameter(T.Uniform(rng, -1, 1, 4, hidden)), T.Uniform(rng, -1, 1, rows, 4));
    }

    /// <remarks>
    /// The large case runs under an <see cref="ActivationRecycler"/>, which the checkpoint's collections make take
    /// arrays back in the middle of a step: none may be one that a recorded op still reads.
    /// </remarks>
    [Theory]
    [InlineData(true, 5)]
    [InlineData(false, 5)]
    [InlineData(true, 512)]
    public void GivesTheOutputAndGradientsOfTheSegmentRecordedDirectly(bool inputNeedsGrad, int rows)
    {
        using var recycler = rows >= 512 ? new ActivationRecycler() : null;
        var (x, w1, w2, dy) = Inputs(inputNeedsGrad, rows);
        var direct = Segment(x, w1, w2, new Rng(8));
        direct.Backward(dy);
        var expected = (Y: direct.ToArray(), X: x.Grad?.ToArray(), W1: w1.Grad!.ToArray(), W2: w2.Grad!.ToArray());
        x.ZeroGrad();
        w1.ZeroGrad();
        w2.ZeroGrad();

        var rng = new Rng(8);
        var before = rng.Copy();
        var runs = 0;
        var checkpointed = O.Checkpoint(x, input => Segment(input, w1, w2, rng), input =>
        {
            runs++;
            return Segment(input, w1, w2, before.Copy());
        });
        Assert.Equal(0, runs);
        checkpointed.Backward(dy);
        Assert.Equal(1, runs);

        Assert.Equal(expected.Y, checkpointed.ToArray());
        Assert.Equal(expected.W1, w1.Grad!.ToArray());
        Assert.Equal(expected.W2, w2.Grad!.ToArray());
        Assert.Equal(expected.X, x.Grad?.ToArray());
    }

    [Fact]
    public void WithoutRecordingRunsTheSegmentOnce()
    {
        var (x, w1, w2, _) = Inputs(true);
        var runs = 0;
        T y;
        using (GradMode.NoGrad())
            y = O.Checkpoint(x, input => { runs++; return Segment(input, w1, w2, new Rng(8)); }, _ => throw new InvalidOperationException("no rerun without a backward"));
        Assert.Equal(1, runs);
        Assert.False(y.RequiresGrad);
    }

    [Fact]
    public void ASegmentThatReturnsItsInputIsRefused()
    {
        var (x, _, _, _) = Inputs(true);
        var error = Assert.Throws<InvalidOperationException>(() => O.Checkpoint(x, input => input, input => input));
        Assert.Contains("checkpoint", error.Message);
    }
}
