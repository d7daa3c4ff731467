using EfficientFT.Models.Nn;
using EfficientFT.Peft.Methods;
using EfficientFT.Tensors;
using EfficientFT.Tensors.Autograd;

namespace EfficientFT.Peft.Tests;

/// <summary>
/// DoRA in training with dropout, against peft 0.15's DoraLinearLayer written out: the base output on the clean input,
/// y = W x + b + (m/n − 1)·W x′ + (m/n)·s·B A x′, where x′ is x after the dropout the adapter draws first.
/// </summary>
public sealed class DoraDropoutTests
{
    [Fact]
    public void WithDropout_TheBaseSeesTheCleanInputAndTheMagnitudeTheDroppedOne()
    {
        var rng = new Rng(3);
        var weight = Tensor.Normal(rng, 0f, 0.5f, 5, 4);
        var bias = Tensor.Normal(rng, 0f, 0.5f, 5);
        var a = Tensor.Parameter(Tensor.Normal(rng, 0f, 0.5f, 2, 4));
        var b = Tensor.Parameter(Tensor.Normal(rng, 0f, 0.5f, 5, 2));
        var magnitude = Tensor.Parameter(Tensor.Normal(rng, 1f, 0.1f, 5));
        var x = Tensor.Normal(rng, 0f, 1f, 3, 4);
        const float scale = 2f, p = 0.5f;
        var adapter = new LoraAdapter(a, b, scale, p, magnitude);
        var layer = new Linear(weight, bias);

        var y = adapter.Forward(layer, x, new ForwardContext(true, new Rng(11)));

        using var _ = GradMode.NoGrad();
        var dropped = Ops.Dropout(x, p, new Rng(11));
        var norm = Ops.VectorNorm(weight + Ops.MatMul(b, a) * scale, 1).Reshape(-1);
        var ratio = magnitude / norm;
        var wx = Ops.Linear(dropped, weight);
        var expected = Ops.Linear(x, weight, bias) + wx * ratio - wx + Ops.Linear(Ops.Linear(dropped, a), b) * scale * ratio;
        var (actual, wanted) = (y.ToArray(), expected.ToArray());
        Assert.NotEqual(x.ToArray(), dropped.ToArray());
        for (var i = 0; i < wanted.Length; i++) Assert.Equal(wanted[i], actual[i], 5);

        // Without dropout (or in evaluation) it is DoRA's usual (m/n)·(W x + s·B A x) + b.
        var evaluation = adapter.Forward(layer, x, ForwardContext.Inference).ToArray();
        var plain = ((Ops.Linear(x, weight) + Ops.Linear(Ops.Linear(x, a), b) * scale) * ratio + bias).ToArray();
        for (var i = 0; i < plain.Length; i++) Assert.Equal(plain[i], evaluation[i], 5);
    }
}
