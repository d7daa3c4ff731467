using EfficientFT.Tensors;

namespace EfficientFT.Training.Optimizers;

/// <summary>
/// AdamW as torch.optim.AdamW computes it (Loshchilov &amp; Hutter 2019): decoupled decay p ← p·(1 − lr·wd), then
/// m ← β₁m + (1−β₁)g, v ← β₂v + (1−β₂)g², p ← p − lr/(1−β₁ᵗ) · m / (√v/√(1−β₂ᵗ) + ε).
/// A tensor without a gradient this step is skipped and its step count does not advance; a zero gradient is a step.
/// </summary>
public sealed class AdamW(IReadOnlyList<ParamGroup> groups, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8) : ICheckpointableOptimizer
{
    private readonly Dictionary<Tensor, State> _state = new(ReferenceEqualityComparer.Instance);

    public IReadOnlyList<ParamGroup> Groups { get; } = groups;

    /// <summary>Multiplies every group's learning rate this step (schedules set it).</summary>
    public double LearningRateScale { get; set; } = 1;

    private sealed class State(int size)
    {
        public readonly float[] M = new float[size];
        public readonly float[] V = new float[size];
        public int Step;
    }

    public void Step()
    {
        foreach (var group in Groups)
        {
            var lr = group.LearningRate * LearningRateScale;
            foreach (var p in group.Tensors)
            {
                if (p.Grad == null) continue;
                if (!_state.TryGetValue(p, out var state)) _state[p] = state = new State(p.Size);
                state.Step++;
                var data = p.AsSpan();
                var g = p.Grad.AsSpan();
                if (group.WeightDecay != 0)
                    System.Numerics.Tensors.TensorPrimitives.Multiply(data, (float)(1 - lr * group.WeightDecay), data);
                var bias1 = 1 - Math.Pow(beta1, state.Step);
                var bias2Sqrt = Math.Sqrt(1 - Math.Pow(beta2, state.Step));
                var stepSize = (float)(lr / bias1);
                // The coefficients are rounded to float once, from double, as torch passes Python floats to its float
                // kernels: 1 − 0.999f would differ from (float)(1 − 0.999) by 5e-5 relative.
                var (b1, b2) = ((float)beta1, (float)beta2);
                var (c1, c2) = ((float)(1 - beta1), (float)(1 - beta2));
                var denominatorScale = (float)bias2Sqrt;
                var (m, v) = (state.M, state.V);
                for (var i = 0; i < data.Length; i++)
                {
                    m[i] = b1 * m[i] + c1 * g[i];
                    v[i] = b2 * v[i] + c2 * g[i] * g[i];
                    data[i] -= stepSize * m[i] / (MathF.Sqrt(v[i]) / denominatorScale + (float)eps);
                }
            }
        }
    }

    public IEnumerable<KeyValuePair<string, Tensor>> SaveState()
    {
        var index = 0;
        foreach (var p in Groups.SelectMany(g => g.Tensors))
        {
            if (_state.TryGetValue(p, out var s))
            {
                yield return KeyValuePair.Create($"m.{index}", Tensor.FromArray(s.M, s.M.Length));
                yield return KeyValuePair.Create($"v.{index}", Tensor.FromArray(s.V, s.V.Length));
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
        foreach (var p in Groups.SelectMany(g => g.Tensors))
        {
            if (state.TryGetValue($"m.{index}", out var m))
            {
                if (m.Size != p.Size)
                    throw new InvalidDataException($"optimizer state {index}: {m.Size} moments for a tensor of {p.Size} elements.");
                var s = new State(p.Size) { Step = (int)state[$"step.{index}"].Item() };
                m.AsSpan().CopyTo(s.M);
                state[$"v.{index}"].AsSpan().CopyTo(s.V);
                _state[p] = s;
            }
            index++;
        }
    }

    /// <summary>Clears every gradient (torch's zero_grad(set_to_none=True)).</summary>
    public void ZeroGrad()
    {
        foreach (var group in Groups)
        foreach (var p in group.Tensors)
            p.Grad = null;
    }
}
