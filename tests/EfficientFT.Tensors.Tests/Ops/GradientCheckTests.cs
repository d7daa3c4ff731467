using T = EfficientFT.Tensors.Tensor;
using O = EfficientFT.Tensors.Ops;

namespace EfficientFT.Tensors.Tests.Ops;

/// <summary>Every differentiable op against finite differences, at odd sizes that leave SIMD tails.</summary>
public sealed class GradientCheckTests
{
    /// <summary>An op under test: how to make its inputs and how to apply it.</summary>
    private sealed record Case(Func<Rng, T[]> Inputs, Func<T[], T> Op);

    private static T U(Rng r, params int[] shape) => T.Uniform(r, -1f, 1f, shape);

    private static T Positive(Rng r, params int[] shape) => T.Uniform(r, 0.5f, 2f, shape);

    private static T AwayFromZero(Rng r, params int[] shape)
    {
        var t = U(r, shape);
        var d = t.AsSpan();
        for (var i = 0; i < d.Length; i++) d[i] = d[i] < 0 ? d[i] - 0.2f : d[i] + 0.2f;
        return t;
    }

    private static readonly int[] EmbeddingIds = [3, 0, 5, 1, 3, 6, 0, 2, 4];
    private static readonly int[] CrossEntropyTargets = [2, -100, 0, 6, 1];
    private static readonly float[] BceTargets = [0f, 1f, 0.3f, 1f, 0f, 0f, 1f, 0.9f, 1f, 0f, 0.5f, 1f];
    private static readonly int[] KeyMask = [1, 1, 1, 0, 0, 1, 1, 1, 1, 1, 1, 0];
    private static readonly int[] Positions = [0, 1, 2, 3, 4, 7, 8, 9, 10, 11];

    private static readonly Dictionary<string, Case> Cases = new()
    {
        ["add"] = new(r => [U(r, 5, 17), U(r, 5, 17)], x => x[0] + x[1]),
        ["add_broadcast_bias"] = new(r => [U(r, 5, 17), U(r, 17)], x => x[0] + x[1]),
        ["add_broadcast_both"] = new(r => [U(r, 3, 1, 7), U(r, 5, 1)], x => x[0] + x[1]),
        ["sub_broadcast"] = new(r => [U(r, 5, 1), U(r, 1, 9)], x => x[0] - x[1]),
        ["mul"] = new(r => [U(r, 33), U(r, 33)], x => x[0] * x[1]),
        ["mul_broadcast_column"] = new(r => [U(r, 4, 9), U(r, 4, 1)], x => x[0] * x[1]),
        ["div"] = new(r => [U(r, 3, 11), Positive(r, 3, 11)], x => x[0] / x[1]),
        ["sub"] = new(r => [U(r, 5, 17), U(r, 5, 17)], x => x[0] - x[1]),
        ["mul_self"] = new(r => [U(r, 33)], x => x[0] * x[0]),
        ["div_both_ways"] = new(r => [Positive(r, 3, 11), Positive(r, 3, 11)], x => x[0] / x[1] + x[1] / x[0]),
        // 40,000 elements, enough to split across threads; each operand feeds several ops, so gradients are both
        // written fresh and added to.
        ["elementwise_large"] = new(r => [U(r, 40000), Positive(r, 40000)], x => (x[0] * x[1] - x[1]) / x[1] + x[0] * x[0] - x[0]),
        ["div_broadcast"] = new(r => [U(r, 3, 11), Positive(r, 11)], x => x[0] / x[1]),
        ["add_scalar"] = new(r => [U(r, 19)], x => x[0] + 1.5f),
        ["mul_scalar"] = new(r => [U(r, 19)], x => x[0] * -2.5f),
        ["scalar_div"] = new(r => [Positive(r, 19)], x => 3f / x[0]),
        ["neg"] = new(r => [U(r, 7)], x => -x[0]),
        ["sum"] = new(r => [U(r, 3, 5, 7)], x => O.Sum(x[0])),
        ["mean"] = new(r => [U(r, 3, 5, 7)], x => O.Mean(x[0])),
        ["sum_axis"] = new(r => [U(r, 3, 5, 7)], x => O.Sum(x[0], [1])),
        ["sum_axes_keepdim"] = new(r => [U(r, 3, 5, 7)], x => O.Sum(x[0], [0, 2], keepDim: true)),
        ["mean_axis"] = new(r => [U(r, 3, 5, 7)], x => O.Mean(x[0], [-1])),
        ["reshape"] = new(r => [U(r, 3, 10)], x => x[0].Reshape(5, -1) * x[0].Reshape(5, 6)),
        ["transpose_contiguous"] = new(r => [U(r, 2, 3, 5), U(r, 2, 5, 3)], x => x[0].Transpose().Contiguous() * x[1]),
        ["permute"] = new(r => [U(r, 2, 3, 5)], x => O.Permute(x[0], 2, 0, 1)),
        ["slice"] = new(r => [U(r, 4, 7, 3)], x => O.Slice(x[0], 1, 2, 4)),
        ["concat"] = new(r => [U(r, 3, 2), U(r, 3, 5)], x => O.Concat([x[0], x[1]], 1)),
        ["exp"] = new(r => [U(r, 17)], x => O.Exp(x[0])),
        ["log"] = new(r => [Positive(r, 17)], x => O.Log(x[0])),
        ["sqrt"] = new(r => [Positive(r, 17)], x => O.Sqrt(x[0])),
        ["pow_integer"] = new(r => [U(r, 17)], x => O.Pow(x[0], 3f)),
        ["pow_fractional"] = new(r => [Positive(r, 17)], x => O.Pow(x[0], 1.5f)),
        ["abs"] = new(r => [AwayFromZero(r, 17)], x => O.Abs(x[0])),
        ["tanh"] = new(r => [U(r, 33)], x => O.Tanh(x[0])),
        ["sigmoid"] = new(r => [U(r, 33)], x => O.Sigmoid(x[0])),
        ["gelu"] = new(r => [T.Uniform(r, -3f, 3f, 37)], x => O.Gelu(x[0])),
        ["relu"] = new(r => [AwayFromZero(r, 37)], x => O.Relu(x[0])),
        ["silu"] = new(r => [T.Uniform(r, -3f, 3f, 37)], x => O.Silu(x[0])),
        ["softmax"] = new(r => [U(r, 3, 19)], x => O.Softmax(x[0])),
        ["log_softmax"] = new(r => [U(r, 3, 19)], x => O.LogSoftmax(x[0])),
        ["cross_entropy_ignore_index"] = new(r => [U(r, 5, 7)], x => O.CrossEntropy(x[0], CrossEntropyTargets)),
        ["mse_loss"] = new(r => [U(r, 4, 5), U(r, 4, 5)], x => O.MseLoss(x[0], x[1])),
        ["binary_cross_entropy_with_logits"] = new(r => [T.Uniform(r, -4f, 4f, 3, 4)],
            x => O.BinaryCrossEntropyWithLogits(x[0], T.FromArray(BceTargets, 3, 4))),
        // One input feeding several ops: the first writes its gradient into a new buffer chunk by chunk, the others
        // add to it; 2,560 elements so that the elementwise kernels split across threads.
        ["fan_out_accumulates"] = new(r => [T.Uniform(r, -3f, 3f, 40, 64), Positive(r, 64), U(r, 64)],
            x => O.Gelu(x[0]) * 0.5f + O.LayerNorm(x[0], x[1], x[2], 1e-5f) + O.RmsNorm(x[0], x[1], 1e-6f) * -1.5f + O.Silu(x[0])),
        ["layer_norm"] = new(r => [U(r, 3, 4, 17), Positive(r, 17), U(r, 17)], x => O.LayerNorm(x[0], x[1], x[2], 1e-5f)),
        ["rms_norm"] = new(r => [U(r, 5, 17), Positive(r, 17)], x => O.RmsNorm(x[0], x[1], 1e-6f)),
        ["embedding"] = new(r => [U(r, 7, 5)], x => O.Embedding(x[0], EmbeddingIds, [3, 3])),
        ["dropout"] = new(r => [U(r, 5, 13)], x => O.Dropout(x[0], 0.3f, 12345UL)),
        ["dropout_add"] = new(r => [U(r, 5, 13), U(r, 5, 13)], x => O.DropoutAdd(x[0], x[1], 0.3f, 12345UL)),
        ["dropout_add_own_residual"] = new(r => [U(r, 5, 13)], x => O.DropoutAdd(x[0], x[0], 0.3f, 12345UL)),
        ["matmul"] = new(r => [U(r, 5, 7), U(r, 7, 3)], x => O.MatMul(x[0], x[1])),
        ["matmul_batched"] = new(r => [U(r, 2, 5, 7), U(r, 2, 7, 3)], x => O.MatMul(x[0], x[1])),
        ["matmul_shared_right"] = new(r => [U(r, 2, 5, 7), U(r, 7, 3)], x => O.MatMul(x[0], x[1])),
        ["matmul_shared_left"] = new(r => [U(r, 5, 7), U(r, 2, 7, 3)], x => O.MatMul(x[0], x[1])),
        ["matmul_transposed_views"] = new(r => [U(r, 2, 7, 5), U(r, 2, 3, 7)], x => O.MatMul(x[0].Transpose(), x[1].Transpose())),
        ["matmul_shared_transposed_left"] = new(r => [U(r, 2, 7, 5), U(r, 7, 3)], x => O.MatMul(x[0].Transpose(), x[1])),
        ["linear"] = new(r => [U(r, 2, 3, 7), U(r, 5, 7), U(r, 5)], x => O.Linear(x[0], x[1], x[2])),
        ["low_rank_linear"] = new(r => [U(r, 2, 3, 7), U(r, 5, 7), U(r, 5), U(r, 2, 3, 2), U(r, 5, 2)],
            x => O.LowRankLinear(x[0], x[1], x[2], x[3], x[4])),
        // The code computed from the input, as LoRA does, and a transposed up-projection: the input's gradient
        // gathers the layer's product and the code's.
        ["low_rank_linear_from_input"] = new(r => [U(r, 4, 6), U(r, 3, 6), U(r, 2, 6), U(r, 2, 3)],
            x => O.LowRankLinear(x[0], x[1], null, O.Linear(x[0], x[2]) * 0.5f, x[3].Transpose())),
        ["linear_no_bias"] = new(r => [U(r, 3, 7), U(r, 5, 7)], x => O.Linear(x[0], x[1])),
        ["linear_transposed_weight"] = new(r => [U(r, 3, 7), U(r, 7, 5)], x => O.Linear(x[0], x[1].Transpose())),
        ["attention"] = new(r => [U(r, 2, 5, 2, 3), U(r, 2, 5, 2, 3), U(r, 2, 5, 2, 3)], x => O.Attention(x[0], x[1], x[2])),
        ["attention_grouped_padded"] = new(r => [U(r, 2, 6, 4, 3), U(r, 2, 6, 2, 3), U(r, 2, 6, 2, 3)],
            x => O.Attention(x[0], x[1], x[2], KeyMask)),
        ["attention_causal_padded"] = new(r => [U(r, 2, 6, 4, 3), U(r, 2, 6, 1, 3), U(r, 2, 6, 1, 3)],
            x => O.Attention(x[0], x[1], x[2], KeyMask, causal: true)),
        ["attention_dropout"] = new(r => [U(r, 1, 5, 2, 3), U(r, 1, 5, 2, 3), U(r, 1, 5, 2, 3)],
            x => O.Attention(x[0], x[1], x[2], dropout: 0.25f, dropoutKey: 99)),
        // Keys longer than 4·D: backward recomputes the probabilities instead of reading the ones forward kept.
        ["attention_recomputed_causal_padded"] = new(r => [U(r, 2, 6, 2, 1), U(r, 2, 6, 1, 1), U(r, 2, 6, 1, 1)],
            x => O.Attention(x[0], x[1], x[2], KeyMask, causal: true)),
        ["attention_recomputed_dropout"] = new(r => [U(r, 1, 5, 2, 1), U(r, 1, 5, 2, 1), U(r, 1, 5, 2, 1)],
            x => O.Attention(x[0], x[1], x[2], dropout: 0.25f, dropoutKey: 99)),
        ["rotary"] = new(r => [U(r, 2, 5, 3, 6)], x => O.Rotary(x[0], Positions, O.RotaryInverseFrequencies(6, 10000))),
        // Half a head of 19: the vector path and its scalar tail.
        ["rotary_vectors"] = new(r => [U(r, 2, 5, 1, 38)], x => O.Rotary(x[0], Positions, O.RotaryInverseFrequencies(38, 10000))),
        // The product's backward runs first and gives x a gradient, which rotary's backward must add to.
        ["rotary_adds_to_gradient"] = new(r => [U(r, 2, 5, 1, 38)],
            x => O.Mul(O.Rotary(x[0], Positions, O.RotaryInverseFrequencies(38, 10000)), x[0])),
        ["vector_norm_rows"] = new(r => [U(r, 5, 7)], x => O.VectorNorm(x[0], 1)),
        ["vector_norm_columns"] = new(r => [U(r, 5, 7)], x => O.VectorNorm(x[0], 0)),
        ["gather"] = new(r => [U(r, 4, 5)], x => O.Gather(x[0], [19, 0, 7, 7, 12])),
        ["scatter_add"] = new(r => [U(r, 4, 5), U(r, 4)], x => O.ScatterAdd(x[0], [3, 17, 3, 0], x[1])),
        // The second input is read only inside the segment, as a layer's weights are.
        ["checkpoint"] = new(r => [U(r, 3, 5), U(r, 3, 5)], x => O.Checkpoint(x[0], a => O.Tanh(a * x[1]), a => O.Tanh(a * x[1]))),
        ["function"] = new(r => [U(r, 3, 5), U(r, 3, 5)], x => O.Function("product", (x[0] * x[1]).Detach(), [x[0], x[1]], dy =>
        {
            var g = dy.AsSpan();
            var a = x[0].AsSpan();
            var b = x[1].AsSpan();
            var da = O.GradientBuffer(x[0]);
            for (var i = 0; i < g.Length; i++) da[i] += g[i] * b[i];
            var db = O.GradientBuffer(x[1]);
            for (var i = 0; i < g.Length; i++) db[i] += g[i] * a[i];
        })),
    };

    public static TheoryData<string> CaseNames => new(Cases.Keys);

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void Backward_MatchesFiniteDifferences(string name)
    {
        var c = Cases[name];
        var seed = name.Aggregate(17, (h, ch) => h * 31 + ch);
        var inputs = c.Inputs(new Rng((ulong)seed));
        var mismatch = GradCheck.Check(c.Op, inputs, seed);
        Assert.True(mismatch == null, $"{name}: {mismatch}");
    }

    [Fact]
    public void GradCheck_CatchesAWrongBackward()
    {
        // The checker itself must be able to fail: a square whose backward forgets the factor 2.
        static T WrongSquare(T x) => O.Record(O.Mul(x, x).Detach(), "wrong_square", [x], dy =>
        {
            var dx = O.GradOf(x);
            var xs = x.AsSpan();
            var g = dy.AsSpan();
            for (var i = 0; i < dx.Length; i++) dx[i] += g[i] * xs[i];
        });
        var mismatch = GradCheck.Check(x => WrongSquare(x[0]), [T.Uniform(new Rng(1), 0.5f, 1f, 9)], seed: 1);
        Assert.NotNull(mismatch);
    }

    [Fact]
    public void EveryPublicOp_HasAGradientCheck()
    {
        // A new op must come with a case above: list the public Tensor-returning ops and the names they are checked under.
        var covered = new Dictionary<string, string[]>
        {
            ["Add"] = ["add"], ["Sub"] = ["sub", "sub_broadcast"], ["Mul"] = ["mul", "mul_self"], ["Div"] = ["div", "div_both_ways"],
            ["AddScalar"] = ["add_scalar"], ["MulScalar"] = ["mul_scalar"], ["ScalarDiv"] = ["scalar_div"], ["Neg"] = ["neg"],
            ["Sum"] = ["sum", "sum_axis"], ["Mean"] = ["mean", "mean_axis"], ["Reshape"] = ["reshape"],
            ["TransposeLast"] = ["transpose_contiguous"], ["Permute"] = ["permute"], ["Slice"] = ["slice"], ["Concat"] = ["concat"],
            ["Exp"] = ["exp"], ["Log"] = ["log"], ["Sqrt"] = ["sqrt"], ["Pow"] = ["pow_integer"], ["Abs"] = ["abs"],
            ["Tanh"] = ["tanh"], ["Sigmoid"] = ["sigmoid"], ["Gelu"] = ["gelu"], ["Silu"] = ["silu"], ["Relu"] = ["relu"],
            ["Softmax"] = ["softmax"], ["LogSoftmax"] = ["log_softmax"], ["CrossEntropy"] = ["cross_entropy_ignore_index"],
            ["MseLoss"] = ["mse_loss"], ["BinaryCrossEntropyWithLogits"] = ["binary_cross_entropy_with_logits"], ["LayerNorm"] = ["layer_norm"], ["RmsNorm"] = ["rms_norm"],
            ["Embedding"] = ["embedding"], ["Dropout"] = ["dropout"], ["DropoutAdd"] = ["dropout_add", "dropout_add_own_residual"], ["MatMul"] = ["matmul"],
            ["Linear"] = ["linear"], ["LowRankLinear"] = ["low_rank_linear", "low_rank_linear_from_input"], ["Attention"] = ["attention"], ["Rotary"] = ["rotary"],
            ["VectorNorm"] = ["vector_norm_rows"], ["Gather"] = ["gather"], ["ScatterAdd"] = ["scatter_add"],
            ["Function"] = ["function"], ["Checkpoint"] = ["checkpoint"],
        };
        var ops = typeof(O).GetMethods(System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.Static)
            .Where(m => m.ReturnType == typeof(T)).Select(m => m.Name).Distinct().ToArray();
        var missing = ops.Where(op => !covered.ContainsKey(op)).ToArray();
        Assert.True(missing.Length == 0, "ops without a gradient check: " + string.Join(", ", missing));
        foreach (var names in covered.Values)
            foreach (var n in names) Assert.True(Cases.ContainsKey(n), $"listed case {n} does not exist");
    }
}
