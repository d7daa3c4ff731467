using System.Runtime.Intrinsics;
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
                var (data, g) = (p, p.Grad);
                var bias1 = 1 - Math.Pow(beta1, state.Step);
                var bias2Sqrt = Math.Sqrt(1 - Math.Pow(beta2, state.Step));
                // The coefficients are rounded to float once, from double, as torch passes Python floats to its float
                // kernels: 1 − 0.999f would differ from (float)(1 − 0.999) by 5e-5 relative.
                var c = new Coefficients((float)(1 - lr * group.WeightDecay), (float)beta1, (float)(1 - beta1), (float)beta2,
                    (float)(1 - beta2), (float)(lr / bias1), (float)bias2Sqrt, (float)eps, group.WeightDecay != 0);
                // Element by element and in the scalar rule's operation order, so any split gives the same bits; the
                // embedding alone is 38.6 M elements.
                Threading.For(p.Size, 16, (start, end) =>
                    Update(c, data.AsSpan().Slice(start, end - start), g.AsSpan().Slice(start, end - start),
                        state.M.AsSpan(start, end - start), state.V.AsSpan(start, end - start)));
            }
        }
    }

    private readonly record struct Coefficients(float Decay, float B1, float C1, float B2, float C2, float StepSize,
        float DenominatorScale, float Eps, bool Decays);

    private static void Update(Coefficients c, Span<float> data, ReadOnlySpan<float> g, Span<float> m, Span<float> v)
    {
        if (c.Decays) System.Numerics.Tensors.TensorPrimitives.Multiply(data, c.Decay, data);
        var i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            for (; i + 8 <= data.Length; i += 8)
            {
                var gi = Vector256.Create(g.Slice(i, 8));
                var mi = Vector256.Create(c.B1) * Vector256.Create(m.Slice(i, 8)) + Vector256.Create(c.C1) * gi;
                var vi = Vector256.Create(c.B2) * Vector256.Create(v.Slice(i, 8)) + Vector256.Create(c.C2) * gi * gi;
                mi.CopyTo(m.Slice(i, 8));
                vi.CopyTo(v.Slice(i, 8));
                var step = Vector256.Create(c.StepSize) * mi / (Vector256.Sqrt(vi) / Vector256.Create(c.DenominatorScale) + Vector256.Create(c.Eps));
                (Vector256.Create(data.Slice(i, 8)) - step).CopyTo(data.Slice(i, 8));
            }
        }
        for (; i < data.Length; i++)
        {
            m[i] = c.B1 * m[i] + c.C1 * g[i];
            v[i] = c.B2 * v[i] + c.C2 * g[i] * g[i];
            data[i] -= c.StepSize * m[i] / (MathF.Sqrt(v[i]) / c.DenominatorScale + c.Eps);
        }
    }

    public IEnumerable<KeyValuePair<string, Tensor>> SaveState()
    {
        var index = 0;
        foreach (var p in Groups.SelectMany(g => g.Tensors))
        {
            if (_state.TryGetValue(p, out var s))
            {
                // In the tensor's shape, so a resume can tell LoRA's A [r, in] from a B [out, r] of the same size.
                yield return KeyValuePair.Create($"m.{index}", Tensor.FromArray(s.M, p.ShapeArray()));
                yield return KeyValuePair.Create($"v.{index}", Tensor.FromArray(s.V, p.ShapeArray()));
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
                var step = Entry(state, $"step.{index}", 1);
                var v = Entry(state, $"v.{index}", p.Size);
                if (m.Size != p.Size)
                    throw new InvalidDataException($"optimizer state {index}: {m.Size} moments for a tensor of {p.Size} elements.");
                // States written before shapes were kept are flat, and only their size can be checked.
                if (m.Rank > 1 && !Shapes.SameShape(m.Shape, p.Shape))
                    throw new InvalidDataException($"optimizer state {index}: moments of shape {Shapes.Format(m.Shape)} for a tensor of shape {Shapes.Format(p.Shape)}.");
                var s = new State(p.Size) { Step = (int)step.Item() };
                m.AsSpan().CopyTo(s.M);
                v.AsSpan().CopyTo(s.V);
                _state[p] = s;
            }
            index++;
        }
    }

    private static Tensor Entry(IReadOnlyDictionary<string, Tensor> state, string name, int size) =>
        !state.TryGetValue(name, out var t) ? throw new InvalidDataException($"optimizer state has moments but no {name}.")
        : t.Size != size ? throw new InvalidDataException($"optimizer state {name} has {t.Size} elements, not {size}.")
        : t;

    /// <summary>Clears every gradient (torch's zero_grad(set_to_none=True)).</summary>
    public void ZeroGrad()
    {
        foreach (var group in Groups)
        foreach (var p in group.Tensors)
            p.Grad = null;
    }
}
