using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;
using EfficientFT.Peft;
using EfficientFT.Peft.Methods;
using EfficientFT.Tensors;
using EfficientFT.Tensors.Autograd;
using EfficientFT.Tensors.Linalg;

namespace EfficientFT.Training.Optimizers;

/// <summary>
/// GaLore's AdamW (Zhao et al. 2024, "GaLore: Memory-Efficient LLM Training by Gradient Low-Rank Projection",
/// Algorithm 2) as galore_torch.GaLoreAdamW computes it. For a projected weight with gradient G (m×n), at state step
/// t (counted from 0, before the increment):
/// <code>
/// if t mod T = 0:  U S Vᵀ = svd(G);  P = V[:, :r]ᵀ (r×n) if m ≥ n, else P = U[:, :r] (m×r)
/// R = G Pᵀ (m ≥ n)  or  Pᵀ G
/// t ← t + 1;  M ← β₁M + (1−β₁)R;  V ← β₂V + (1−β₂)R²;  N = M / (√V + ε)
/// W ← W − η·√(1−β₂ᵗ)/(1−β₁ᵗ) · α·(N P  or  P N);  then W ← W − η·λ_wd·W
/// </code>
/// M and V keep R's low-rank shape, which is the memory saving, and survive a change of P (the reference does not
/// reset them), so the signs of the singular vectors matter from the first refresh on; see
/// <see cref="GaLoreOptions.TorchSigns"/>. Plain groups take the same update with R = G and no projection. Unlike
/// torch.optim.AdamW, ε is added to √V before the bias correction and the decay comes after the step, as the
/// reference (the Hugging Face AdamW it descends from) does.
/// A tensor without a gradient this step is skipped and its step count does not advance.
/// </summary>
public sealed class GaLoreAdamW(IReadOnlyList<GaLoreGroup> groups, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-6) : ICheckpointableOptimizer
{
    private readonly Dictionary<Tensor, State> _state = new(ReferenceEqualityComparer.Instance);

    public IReadOnlyList<GaLoreGroup> Groups { get; } = Validated(groups);

    /// <summary>Multiplies every group's learning rate this step (schedules set it).</summary>
    public double LearningRateScale { get; set; } = 1;

    private sealed class State
    {
        public float[]? M;
        public float[]? V;
        public Tensor? Projection;
        public int Step;
    }

    /// <summary>
    /// The optimizer for a PEFT model's trainable tensors: the rates of <see cref="ParameterGroups.Build"/> (V at
    /// λ·lr), each split into the tensors tagged <see cref="GaLore.Kind"/>, projected with <paramref name="options"/>,
    /// and the rest (the head), plain. The defaults are galore_torch's.
    /// </summary>
    public static GaLoreAdamW Create(IReadOnlyList<PeftParameter> trainable, double learningRate, double valueRatio,
        GaLoreOptions options, double weightDecay = 0, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-6)
    {
        var projected = trainable.Where(p => p.Kind == GaLore.Kind).Select(p => p.Value).ToHashSet(ReferenceEqualityComparer.Instance);
        var groups = new List<GaLoreGroup>();
        foreach (var group in ParameterGroups.Build(trainable, learningRate, valueRatio, weightDecay: weightDecay))
        {
            var plain = group.Tensors.Where(t => !projected.Contains(t)).ToList();
            var lowRank = group.Tensors.Where(projected.Contains).ToList();
            if (plain.Count > 0) groups.Add(new GaLoreGroup(group with { Tensors = plain }, null));
            if (lowRank.Count > 0) groups.Add(new GaLoreGroup(group with { Name = group.Name + " galore", Tensors = lowRank }, options));
        }
        return new GaLoreAdamW(groups, beta1, beta2, eps);
    }

    /// <summary>The projection P a projected tensor was last updated with (r×n or m×r), or null before its first step.</summary>
    public Tensor? ProjectionOf(Tensor parameter) => _state.TryGetValue(parameter, out var s) ? s.Projection : null;

    public void Step()
    {
        using var _ = GradMode.NoGrad();
        foreach (var (group, projection) in Groups)
        {
            var lr = group.LearningRate * LearningRateScale;
            foreach (var p in group.Tensors)
            {
                if (p.Grad == null) continue;
                if (!_state.TryGetValue(p, out var state)) _state[p] = state = new State();
                var tall = projection != null && p.Dim(0) >= p.Dim(1);
                var g = p.Grad.Contiguous();
                if (projection != null)
                {
                    if (state.Projection == null || state.Step % projection.UpdateProjectionGap == 0)
                        state.Projection = Orthogonal(g, projection, tall);
                    g = tall ? Ops.MatMul(g, state.Projection.Transpose()) : Ops.MatMul(state.Projection.Transpose(), g);
                }
                state.M ??= new float[g.Size];
                state.V ??= new float[g.Size];
                state.Step++;
                var normalized = Normalized(g.AsSpan(), state);
                if (projection != null)
                {
                    var low = Tensor.Wrap(normalized, g.ShapeArray());
                    normalized = (tall ? Ops.MatMul(low, state.Projection!) : Ops.MatMul(state.Projection!, low)).ToArray();
                    TensorPrimitives.Multiply(normalized, (float)projection.Scale, normalized);
                }
                var stepSize = lr * Math.Sqrt(1 - Math.Pow(beta2, state.Step)) / (1 - Math.Pow(beta1, state.Step));
                var data = p.AsSpan();
                TensorPrimitives.MultiplyAdd(normalized, (float)-stepSize, data, data);
                if (group.WeightDecay > 0)
                    TensorPrimitives.MultiplyAdd(data, (float)(-lr * group.WeightDecay), data, data);
            }
        }
    }

    public IEnumerable<KeyValuePair<string, Tensor>> SaveState()
    {
        var index = 0;
        foreach (var p in Groups.SelectMany(g => g.Group.Tensors))
        {
            if (_state.TryGetValue(p, out var s))
            {
                if (s.M != null) yield return KeyValuePair.Create($"m.{index}", Tensor.FromArray(s.M, s.M.Length));
                if (s.V != null) yield return KeyValuePair.Create($"v.{index}", Tensor.FromArray(s.V, s.V.Length));
                if (s.Projection != null) yield return KeyValuePair.Create($"projection.{index}", s.Projection.Contiguous());
                // A float holds step counts exactly up to 2²⁴, far past any fine-tuning run.
                yield return KeyValuePair.Create($"step.{index}", Tensor.FromArray([s.Step], 1));
            }
            index++;
        }
    }

    public void LoadState(IReadOnlyDictionary<string, Tensor> state)
    {
        _state.Clear();
        var index = 0;
        foreach (var p in Groups.SelectMany(g => g.Group.Tensors))
        {
            if (state.TryGetValue($"step.{index}", out var step))
            {
                var s = new State { Step = (int)step.Item() };
                if (state.TryGetValue($"m.{index}", out var m)) s.M = m.ToArray();
                if (state.TryGetValue($"v.{index}", out var v)) s.V = v.ToArray();
                if (state.TryGetValue($"projection.{index}", out var projection)) s.Projection = Tensor.FromArray(projection.AsSpan(), projection.ShapeArray());
                _state[p] = s;
            }
            index++;
        }
    }

    /// <summary>Clears every gradient (torch's zero_grad(set_to_none=True)).</summary>
    public void ZeroGrad()
    {
        foreach (var (group, _) in Groups)
        foreach (var p in group.Tensors)
            p.Grad = null;
    }

    /// <summary>Updates the moments with <paramref name="g"/> and returns N = M / (√V + ε).</summary>
    private float[] Normalized(ReadOnlySpan<float> g, State state)
    {
        // As torch's kernels, coefficients are rounded to float once from double (1 − 0.999f is 5e-5 off in relative terms).
        var (b1, b2) = ((float)beta1, (float)beta2);
        var (c1, c2) = ((float)(1 - beta1), (float)(1 - beta2));
        var epsilon = (float)eps;
        var (m, v) = (state.M!, state.V!);
        var n = new float[g.Length];
        for (var i = 0; i < g.Length; i++)
        {
            m[i] = b1 * m[i] + c1 * g[i];
            v[i] = b2 * v[i] + c2 * g[i] * g[i];
            n[i] = m[i] / (MathF.Sqrt(v[i]) + epsilon);
        }
        return n;
    }

    /// <summary>P from the SVD of the gradient: the top-r right singular vectors as rows (tall), else the left as columns.</summary>
    private static Tensor Orthogonal(Tensor g, GaLoreOptions options, bool tall)
    {
        var (rows, cols) = (g.Dim(0), g.Dim(1));
        var svd = options.TorchSigns ? LinearAlgebra.SvdWithLapackSigns(g.AsSpan(), rows, cols) : LinearAlgebra.Svd(g.AsSpan(), rows, cols);
        var r = Math.Min(options.Rank, svd.Rank);
        if (tall) return Tensor.FromArray(svd.Vt.AsSpan(0, r * cols), r, cols);
        var u = new float[rows * r];
        for (var i = 0; i < rows; i++) svd.U.AsSpan(i * svd.Rank, r).CopyTo(u.AsSpan(i * r, r));
        return Tensor.Wrap(u, rows, r);
    }

    private static IReadOnlyList<GaLoreGroup> Validated(IReadOnlyList<GaLoreGroup> groups)
    {
        foreach (var (group, projection) in groups)
        {
            if (projection == null) continue;
            if (projection.Rank < 1 || projection.UpdateProjectionGap < 1)
                throw new ArgumentException($"GaLore group {group.Name}: rank {projection.Rank} and update_proj_gap {projection.UpdateProjectionGap} must be at least 1.");
            foreach (var t in group.Tensors.Where(t => t.Rank != 2))
                throw new ArgumentException($"GaLore group {group.Name}: a tensor of shape {Shapes.Format(t.Shape)} is not a matrix; only 2-D weights can be projected.");
        }
        return groups;
    }
}
