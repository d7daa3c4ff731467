using EfficientFT.Models.SafeTensors;
using EfficientFT.Tensors;

namespace EfficientFT.Peft.Methods;

/// <summary>
/// AdaLoRA's budget allocation (Zhang et al., "Adaptive Budget Allocation for Parameter-Efficient Fine-Tuning",
/// ICLR 2023, §3.2–3.3), step for step as peft 0.15.1's RankAllocator and update_and_allocate:
/// <list type="bullet">
/// <item>sensitivity of every entry w of A, E, B: I = |w·∂L/∂w|, smoothed Ī ← β₁Ī + (1−β₁)I, uncertainty
/// Ū ← β₂Ū + (1−β₂)|I − Ī|, score s = Ī·Ū;</item>
/// <item>score of triplet i: s(Eᵢ) + mean_j s(Aᵢⱼ) + mean_k s(Bₖᵢ);</item>
/// <item>budget b(t): Σ init_r while t ≤ tinit, then target + (init − target)(1 − (t − tinit)/(T − tfinal − tinit))³
/// truncated to an integer, applied every deltaT steps, and target after T − tfinal;</item>
/// <item>masking: the init − b(t) lowest triplet scores (kthvalue threshold, ties included) get Eᵢ = 0. At
/// t = T − tfinal the scores are not updated, the final mask is taken and the scores are reset; afterwards that
/// mask is reapplied every step, because the optimizer's moments can move a pruned Eᵢ again.</item>
/// </list>
/// peft leaves the call to the training loop, and the original EfficientFT never makes it; here it is the
/// <see cref="IStepHook.AfterOptimizerStep"/> of the method, so the loop cannot forget it.
/// </summary>
public sealed class RankAllocator
{
    private readonly IReadOnlyList<(string Path, AdaLoraAdapter Adapter)> _layers;
    private readonly AdaLoraOptions _options;
    private readonly int _totalStep;
    private readonly Dictionary<Tensor, (float[] Ipt, float[] Unc)> _scores = new(ReferenceEqualityComparer.Instance);
    private Dictionary<string, bool[]>? _rankPattern;

    public RankAllocator(IReadOnlyList<(string Path, AdaLoraAdapter Adapter)> layers, AdaLoraOptions options)
    {
        _totalStep = options.TotalStep ?? throw new ArgumentException("adalora: TotalStep must be set (peft requires total_step); it is the length of the rank schedule in optimizer steps.");
        if (_totalStep <= 0) throw new ArgumentException($"adalora: TotalStep must be positive, got {_totalStep}.");
        if (options.Tinit >= _totalStep - options.Tfinal)
            throw new ArgumentException($"adalora: Tinit ({options.Tinit}) must be below TotalStep − Tfinal ({_totalStep - options.Tfinal}), or no step is left to prune ranks.");
        if (options.TargetR < 0) throw new ArgumentException($"adalora: TargetR must not be negative, got {options.TargetR}.");
        if (options.DeltaT < 1) throw new ArgumentException($"adalora: DeltaT must be at least 1, got {options.DeltaT}.");
        if (options.Beta1 is <= 0 or >= 1 || options.Beta2 is <= 0 or >= 1)
            throw new ArgumentException($"adalora: Beta1 and Beta2 must lie in (0, 1), got {options.Beta1} and {options.Beta2}.");
        _layers = layers;
        _options = options;
        InitialBudget = layers.Sum(l => l.Adapter.Rank);
        TargetBudget = options.TargetR * layers.Count;
        _rankPattern = options.RankPattern?.ToDictionary(p => p.Key, p => p.Value);
    }

    /// <summary>Σ of the layers' ranks at creation.</summary>
    public int InitialBudget { get; }

    /// <summary>target_r × number of layers.</summary>
    public int TargetBudget { get; }

    /// <summary>Per module path, which of the initial ranks the last allocation kept; null before the first one.</summary>
    public IReadOnlyDictionary<string, bool[]>? RankPattern => _rankPattern;

    /// <summary>The budget after step <paramref name="step"/> and whether that step masks (peft's budget_schedule).</summary>
    public (int Budget, bool Mask) Budget(int step)
    {
        var (tinit, tfinal) = (_options.Tinit, _options.Tfinal);
        if (step <= tinit) return (InitialBudget, false);
        if (step > _totalStep - tfinal) return (TargetBudget, true);
        var remaining = 1 - (double)(step - tinit) / (_totalStep - tfinal - tinit);
        var budget = (int)((InitialBudget - TargetBudget) * Math.Pow(remaining, 3) + TargetBudget);
        return (budget, step % _options.DeltaT == 0);
    }

    /// <summary>peft's update_and_allocate(step): call after the optimizer step, before the gradients are cleared.</summary>
    public void Step(int step)
    {
        var final = _totalStep - _options.Tfinal;
        if (step < final)
        {
            UpdateScores();
            var (budget, mask) = Budget(step);
            if (mask) _rankPattern = MaskToBudget(budget);
        }
        else if (step == final)
        {
            _rankPattern = MaskToBudget(Budget(step).Budget);
            _scores.Clear();
        }
        else if (_rankPattern != null)
        {
            foreach (var (path, adapter) in _layers)
                if (_rankPattern.TryGetValue(path, out var kept)) ZeroPruned(adapter, i => kept[adapter.Slots[i]]);
        }
    }

    /// <summary>
    /// The smoothed sensitivity and uncertainty of every scored entry ("adalora.&lt;path&gt;.lora_A.ipt", ".unc", likewise
    /// lora_B and lora_E) and the last rank pattern as 0/1 ("adalora.&lt;path&gt;.rank_pattern"): all a resumed run
    /// needs to prune the same triplets as an uninterrupted one.
    /// </summary>
    public IEnumerable<SafeTensorsEntry> SaveState()
    {
        foreach (var (path, _, name, p) in Scored())
        {
            if (!_scores.TryGetValue(p, out var s)) continue;
            yield return SafeTensorsEntry.FromValues($"{Prefix}{path}.{name}.ipt", SafeTensorsDType.F32, s.Ipt, s.Ipt.Length);
            yield return SafeTensorsEntry.FromValues($"{Prefix}{path}.{name}.unc", SafeTensorsDType.F32, s.Unc, s.Unc.Length);
        }
        if (_rankPattern == null) yield break;
        foreach (var (path, kept) in _rankPattern)
            yield return SafeTensorsEntry.FromValues($"{Prefix}{path}.rank_pattern", SafeTensorsDType.Bool,
                kept.Select(k => (byte)(k ? 1 : 0)).ToArray(), kept.Length);
    }

    /// <summary>Replaces the scores and the rank pattern with those <see cref="SaveState"/> wrote.</summary>
    public void LoadState(SafeTensorsFile state)
    {
        _scores.Clear();
        foreach (var (path, _, name, p) in Scored())
        {
            var key = $"{Prefix}{path}.{name}";
            if (!state.Contains(key + ".ipt") || !state.Contains(key + ".unc")) continue;
            var (ipt, unc) = (state.GetTensor(key + ".ipt").ToArray(), state.GetTensor(key + ".unc").ToArray());
            if (ipt.Length != p.Size || unc.Length != p.Size)
                throw new InvalidDataException($"{state.Path}: {key} holds {ipt.Length} and {unc.Length} scores, the tensor has {p.Size} entries.");
            _scores[p] = (ipt, unc);
        }
        Dictionary<string, bool[]>? pattern = null;
        foreach (var (path, adapter) in _layers)
        {
            var key = $"{Prefix}{path}.rank_pattern";
            if (!state.Contains(key)) continue;
            var kept = state.GetInt32(key);
            if (kept.Length != adapter.RankNumber)
                throw new InvalidDataException($"{state.Path}: {key} has {kept.Length} entries, the layer started with {adapter.RankNumber} ranks.");
            (pattern ??= [])[path] = kept.Select(k => k != 0).ToArray();
        }
        _rankPattern = pattern;
    }

    private const string Prefix = "adalora.";

    private IEnumerable<(string Path, AdaLoraAdapter Adapter, string Name, Tensor P)> Scored() =>
        _layers.SelectMany(l => new[] { ("lora_A", l.Adapter.A), ("lora_B", l.Adapter.B), ("lora_E", l.Adapter.E) }
            .Select(t => (l.Path, l.Adapter, t.Item1, t.Item2)));

    private void UpdateScores()
    {
        var (b1, c1) = ((float)_options.Beta1, (float)(1 - _options.Beta1));
        var (b2, c2) = ((float)_options.Beta2, (float)(1 - _options.Beta2));
        foreach (var (path, adapter) in _layers)
        foreach (var p in new[] { adapter.A, adapter.B, adapter.E })
        {
            var grad = p.Grad ?? throw new InvalidOperationException($"adalora: {path} has no gradient; the rank allocator runs after the optimizer step and before the gradients are cleared.");
            if (!_scores.TryGetValue(p, out var s)) _scores[p] = s = (new float[p.Size], new float[p.Size]);
            var w = p.AsSpan();
            var g = grad.AsSpan();
            for (var i = 0; i < w.Length; i++)
            {
                var ipt = MathF.Abs(w[i] * g[i]);
                s.Ipt[i] = b1 * s.Ipt[i] + c1 * ipt;
                s.Unc[i] = b2 * s.Unc[i] + c2 * MathF.Abs(ipt - s.Ipt[i]);
            }
        }
    }

    /// <summary>Ī·Ū per entry; zero for a tensor not yet scored (peft would fail there).</summary>
    private float[] Score(Tensor p)
    {
        var score = new float[p.Size];
        if (_scores.TryGetValue(p, out var s))
            for (var i = 0; i < score.Length; i++) score[i] = s.Ipt[i] * s.Unc[i];
        return score;
    }

    private float[] TripletScores(AdaLoraAdapter adapter)
    {
        var (r, inFeatures, outFeatures) = (adapter.Rank, adapter.A.Dim(1), adapter.B.Dim(0));
        var (sa, sb, se) = (Score(adapter.A), Score(adapter.B), Score(adapter.E));
        var triplet = new float[r];
        for (var i = 0; i < r; i++)
        {
            float meanA = 0, meanB = 0;
            for (var j = 0; j < inFeatures; j++) meanA += sa[i * inFeatures + j];
            for (var k = 0; k < outFeatures; k++) meanB += sb[k * r + i];
            triplet[i] = se[i] + (meanA / inFeatures + meanB / outFeatures);
        }
        return triplet;
    }

    private Dictionary<string, bool[]> MaskToBudget(int budget)
    {
        var triplets = _layers.Select(l => TripletScores(l.Adapter)).ToList();
        var pruneCount = InitialBudget - budget;
        // torch.kthvalue rejects k = 0; a budget that keeps every triplet simply prunes none.
        var threshold = float.NegativeInfinity;
        if (pruneCount > 0)
        {
            var all = triplets.SelectMany(t => t).ToArray();
            Array.Sort(all);
            threshold = all[pruneCount - 1];
        }
        var pattern = new Dictionary<string, bool[]>();
        for (var l = 0; l < _layers.Count; l++)
        {
            var (path, adapter) = _layers[l];
            var kept = new bool[adapter.RankNumber];
            for (var i = 0; i < adapter.Rank; i++) kept[adapter.Slots[i]] = !(triplets[l][i] <= threshold);
            ZeroPruned(adapter, i => kept[adapter.Slots[i]]);
            pattern[path] = kept;
        }
        return pattern;
    }

    private static void ZeroPruned(AdaLoraAdapter adapter, Func<int, bool> keep)
    {
        var e = adapter.E.AsSpan();
        for (var i = 0; i < e.Length; i++)
            if (!keep(i)) e[i] = 0;
    }
}
