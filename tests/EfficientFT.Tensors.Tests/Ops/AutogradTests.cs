using EfficientFT.Tensors.Autograd;
using T = EfficientFT.Tensors.Tensor;
using O = EfficientFT.Tensors.Ops;

namespace EfficientFT.Tensors.Tests.Ops;

public sealed class AutogradTests
{
    [Fact]
    public void Embedding_PaddingRowGetsNoGradient()
    {
        var weight = T.Parameter(T.Uniform(new Rng(3), -1, 1, 4, 3));
        var y = O.Embedding(weight, [0, 2, 0, 1], [4], paddingIndex: 0);
        O.Sum(y).Backward();
        var g = weight.Grad!;
        Assert.Equal([0f, 0f, 0f], g.ToArray()[..3]);
        Assert.Equal([1f, 1f, 1f, 1f, 1f, 1f, 0f, 0f, 0f], g.ToArray()[3..]);
    }

    [Fact]
    public void Backward_FreesTheGraphAndIntermediateGradients()
    {
        var w = T.Parameter(T.Uniform(new Rng(4), -1, 1, 3, 3));
        var hidden = O.Tanh(O.MatMul(w, w));
        var loss = O.Sum(hidden);
        Assert.False(hidden.IsLeaf);
        loss.Backward();
        Assert.True(hidden.IsLeaf);
        Assert.Null(hidden.Grad);
        Assert.NotNull(w.Grad);
        Assert.Throws<InvalidOperationException>(() => loss.Backward());
    }

    [Fact]
    public void Backward_ReusedGradientBuffersStayApart()
    {
        // Gradients taken over by an input (add, reshape) and buffers handed back to the pool and rented again must
        // never alias: x + x doubles dy in place, and a second pass over a new graph reuses the first pass's buffers.
        // loss = Σ c ⊙ reshape(x + x + y) gives ∂/∂x = 2c, ∂/∂y = c, ∂/∂c = 2x + y.
        for (var pass = 0; pass < 2; pass++)
        {
            var rng = new Rng(40 + (ulong)pass);
            var x = T.Parameter(T.Uniform(rng, -1, 1, 6, 4));
            var y = T.Parameter(T.Uniform(rng, -1, 1, 6, 4));
            var c = T.Parameter(T.Uniform(rng, -1, 1, 4, 6));
            O.Sum(O.Mul(c, O.Reshape(O.Add(O.Add(x, x), y), 4, 6))).Backward();
            var (xs, ys, cs) = (x.ToArray(), y.ToArray(), c.ToArray());
            for (var i = 0; i < xs.Length; i++)
            {
                Assert.Equal(2 * cs[i], x.Grad!.ToArray()[i], 6);
                Assert.Equal(cs[i], y.Grad!.ToArray()[i], 6);
                Assert.Equal(2 * xs[i] + ys[i], c.Grad!.ToArray()[i], 6);
            }
        }
    }

    [Fact]
    public void Backward_ReleasesActivationsAsItGoes()
    {
        // loss = Σ 2·probe(x): backward reaches the probe after the product's op, and by then nothing may keep the
        // product (an activation only the released part of the graph referred to) from being collected.
        var x = T.Parameter(T.Uniform(new Rng(5), -1, 1, 64));
        var productAlive = new List<bool>();
        ProbeGraph(x, productAlive).Backward();
        Assert.Equal([false], productAlive);
        Assert.All(x.Grad!.ToArray(), g => Assert.Equal(2f, g));
    }

    /// <summary>
    /// Σ 2·probe(x), where probe is the identity whose backward collects garbage and records whether the product
    /// 2·probe(x) is still alive. Not inlined, so that no local of the caller keeps the product alive.
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static T ProbeGraph(T x, List<bool> productAlive)
    {
        WeakReference? product = null;
        var probed = O.Function("probe", T.FromArray(x.ToArray(), x.ShapeArray()), [x], dy =>
        {
            GC.Collect();
            productAlive.Add(product!.IsAlive);
            dy.AsSpan().CopyTo(O.GradientBuffer(x));
        });
        var doubled = probed * 2f;
        product = new WeakReference(doubled);
        return O.Sum(doubled);
    }

    [Fact]
    public void Backward_AccumulatesAcrossCalls()
    {
        var w = T.Parameter(T.FromArray([1f, 2f, 3f], 3));
        O.Sum(w * 2f).Backward();
        O.Sum(w * 3f).Backward();
        Assert.Equal([5f, 5f, 5f], w.Grad!.ToArray());
    }

    [Fact]
    public void NoGrad_RecordsNothing()
    {
        var w = T.Parameter(T.Ones(2, 2));
        using (GradMode.NoGrad())
        {
            var y = O.MatMul(w, w);
            Assert.False(y.RequiresGrad);
            Assert.True(y.IsLeaf);
        }
        Assert.True(O.MatMul(w, w).RequiresGrad);
    }

    [Fact]
    public void FrozenInputs_GetNoGradient()
    {
        var x = T.Uniform(new Rng(5), -1, 1, 4, 3);
        var frozen = T.Uniform(new Rng(6), -1, 1, 5, 3);
        var bias = T.Parameter(T.Zeros(5));
        O.Sum(O.Linear(x, frozen, bias)).Backward();
        Assert.Null(x.Grad);
        Assert.Null(frozen.Grad);
        Assert.Equal(Enumerable.Repeat(4f, 5), bias.Grad!.ToArray());
    }

    [Fact]
    public void Function_RunsItsRuleOnlyWhenAnInputNeedsAGradient()
    {
        var calls = 0;
        T Double(T x) => O.Function("double", (x * 2f).Detach(), [x], dy =>
        {
            calls++;
            var dx = O.GradientBuffer(x);
            var g = dy.AsSpan();
            for (var i = 0; i < g.Length; i++) dx[i] += 2 * g[i];
        });
        var frozen = T.Ones(3);
        Assert.False(Double(frozen).RequiresGrad);
        var w = T.Parameter(T.Ones(3));
        O.Sum(Double(w)).Backward();
        Assert.Equal(1, calls);
        Assert.Equal([2f, 2f, 2f], w.Grad!.ToArray());
        Assert.Throws<ArgumentException>(() => O.Function("identity", w, [w], _ => { }));
    }

    [Fact]
    public void Backward_OfNonScalarWithoutGradient_Throws()
    {
        var w = T.Parameter(T.Ones(2, 2));
        var e = Assert.Throws<ArgumentException>(() => (w * 2f).Backward());
        Assert.Contains("not a scalar", e.Message);
    }
}
