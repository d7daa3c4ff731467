using System.Text.Json.Nodes;
using EfficientFT.Models;
using EfficientFT.Models.Nn;
using EfficientFT.Tensors;
using EfficientFT.Tensors.Autograd;

namespace EfficientFT.Peft.Methods;

/// <summary>
/// EVA, Paischer et al. 2024, "One Initialization to Rule them All: Fine-tuning via Explained Variance
/// Adaptation", §3: LoRA whose A starts as the top right-singular vectors of each layer's inputs,
/// A_l = V_l[:r_l]ᵀ from the incremental SVD X_l = U Σ Vᵀ over a few batches (Eq. 2), with B = 0, and whose ranks
/// are redistributed across layers by explained variance ξᵢ = σᵢ² / Σⱼ σⱼ² (Eq. 3): the budget Σ r goes to the
/// largest ξ of all layers, each layer offering ⌊ρ·r⌉ components. α is rescaled with the rank so that α/r, the
/// update's scale, stays what it was for every module.
/// <para>
/// As peft 0.15.1's initialize_lora_eva_weights: padding (and label-masked) positions are left out; layers that see
/// identical inputs (Q, K and V of one layer) share one decomposition and the largest of their ranks; fitting goes
/// on, cycling through the batches, until the components each layer needs agree with the previous fit to cosine
/// similarity τ; a layer left with rank 0 gets no adapter; the new ranks and alphas land in rank_pattern and
/// alpha_pattern and the targets become the explicit module list. Without batches it is LoRA with B = 0, which is
/// what peft's "eva" init gives before its data pass.
/// </para>
/// </summary>
/// <param name="name">The registry name: "eva", or a combination with rsLoRA and DoRA ("eva+dora").</param>
/// <param name="rsLora">Scale α/√r (peft's use_rslora).</param>
/// <param name="dora">DoRA's magnitude on top (peft's use_dora), which starts at ‖W‖ because B starts at zero.</param>
public sealed class Eva(string name = "eva", bool rsLora = false, bool dora = false) : IPeftMethod, IDataDrivenInit
{
    /// <summary>peft's IncrementalPCA seed for svd_lowrank.</summary>
    private const ulong SvdSeed = 42;

    private readonly Lora _lora = new(name, rsLora: rsLora, dora: dora);

    /// <summary>The initial lora_A rows of each module, from <see cref="Initialise"/>.</summary>
    private Dictionary<string, float[]> _initialA = [];

    public string Name { get; } = name;

    public bool UsesPeftKeys => true;

    public IReadOnlyList<PeftParameter> Apply(PretrainedModel model, IReadOnlyList<(string Path, Linear Layer)> targets, PeftOptions options)
    {
        var trained = _lora.Apply(model, targets, options);
        foreach (var (path, layer) in targets)
            if (_initialA.TryGetValue(path, out var rows)) ((LoraAdapter)layer.Adapter!).A.CopyFrom(rows);
        return trained;
    }

    public JsonObject AdapterConfig(PeftOptions options, IReadOnlyList<string> targetModules, IReadOnlyList<string> modulesToSave, string? taskType)
    {
        var config = _lora.AdapterConfig(options, targetModules, modulesToSave, taskType);
        config["init_lora_weights"] = "eva";
        config["eva_config"] = new JsonObject
        {
            ["adjust_scaling_factors"] = options.Eva.AdjustScalingFactors,
            ["label_mask_value"] = options.Eva.LabelMaskValue,
            ["rho"] = options.Eva.Rho,
            ["tau"] = options.Eva.Tau,
            ["use_label_mask"] = options.Eva.UseLabelMask,
            ["whiten"] = options.Eva.Whiten,
        };
        return config;
    }

    public PeftOptions Initialise(PretrainedModel model, IReadOnlyList<(string Path, Linear Layer)> targets, PeftOptions options,
        IEnumerable<ModelBatch> batches)
    {
        var data = batches.ToList();
        if (data.Count == 0) throw new ArgumentException($"{Name}: the initialisation needs at least one batch.");
        var eva = options.Eva;
        var recorders = targets.Select(t => new InputRecorder(t.Layer.Adapter)).ToArray();
        for (var i = 0; i < targets.Count; i++) targets[i].Layer.Adapter = recorders[i];
        try
        {
            var ranks = targets.Select(t => options.RankFor(t.Path)).ToArray();
            var budget = ranks.Sum();
            var offered = ranks.Select(r => (int)Math.Round(r * eva.Rho, MidpointRounding.ToEven)).ToArray();

            // Layers fed the same input share the first such layer's decomposition, offering the largest of their ranks.
            Record(model, data[0], recorders, eva);
            var source = new int[targets.Count];
            for (var i = 0; i < targets.Count; i++)
            {
                source[i] = i;
                for (var j = 0; j < i; j++)
                {
                    if (source[j] != j || !recorders[j].Input.AsSpan().SequenceEqual(recorders[i].Input)) continue;
                    source[i] = j;
                    offered[j] = Math.Max(offered[j], offered[i]);
                    break;
                }
            }
            for (var i = 0; i < targets.Count; i++)
            {
                offered[i] = offered[source[i]];
                recorders[i].Active = source[i] == i;
            }
            var owners = Enumerable.Range(0, targets.Count).Where(i => source[i] == i).ToArray();
            var pca = new IncrementalPca?[targets.Count];
            foreach (var i in owners)
            {
                if (offered[i] > targets[i].Layer.InFeatures)
                    throw new ArgumentException($"{Name}: ρ·r = {offered[i]} components exceed the {targets[i].Layer.InFeatures} input features of {targets[i].Path}.");
                pca[i] = new IncrementalPca(offered[i], SvdSeed);
            }

            var assigned = (int[])offered.Clone();
            var converged = new bool[targets.Count];
            var settled = new bool[targets.Count][];
            foreach (var i in owners) settled[i] = new bool[offered[i]];
            for (var step = 0; ; step++)
            {
                foreach (var i in owners) converged[i] = settled[i].Take(assigned[i]).All(s => s);
                if (owners.All(i => converged[i])) break;
                if (step >= eva.MaxBatches)
                    throw new InvalidOperationException($"{Name}: the input components did not settle (cosine similarity ≥ {eva.Tau}) within {eva.MaxBatches} batches, or the batches hold fewer unmasked positions than the ⌊ρ·r⌉ components a layer needs.");
                foreach (var i in owners) recorders[i].Active = !converged[i];
                Record(model, data[step % data.Count], recorders, eva);
                foreach (var i in owners.Where(i => !converged[i]))
                {
                    var rows = recorders[i].Rows;
                    if (rows < offered[i]) continue;
                    var previous = pca[i]!.Axes;
                    pca[i]!.PartialFit(recorders[i].Input, rows, targets[i].Layer.InFeatures);
                    if (previous != null) settled[i] = CosineSettled(previous, pca[i]!.Axes!, offered[i], targets[i].Layer.InFeatures, eva.Tau);
                }
                if (owners.Any(i => pca[i]!.Axes == null)) continue;
                assigned = Redistribute(owners, source, offered, pca, budget);
            }

            _initialA = [];
            var kept = new List<string>();
            var rankPattern = new Dictionary<string, int>();
            var alphaPattern = new Dictionary<string, double>();
            for (var i = 0; i < targets.Count; i++)
            {
                var (path, layer) = targets[i];
                var rank = assigned[i];
                if (rank == 0) continue;
                var fit = pca[source[i]]!;
                var inFeatures = layer.InFeatures;
                var a = fit.Axes!.AsSpan(0, rank * inFeatures).ToArray();
                if (eva.Whiten)
                    for (var c = 0; c < rank; c++)
                    for (var f = 0; f < inFeatures; f++)
                        a[c * inFeatures + f] /= MathF.Sqrt(fit.SingularValues[c]);
                _initialA[path] = a;
                kept.Add(path);
                var alpha = options.AlphaFor(path);
                if (rank != ranks[i] && eva.AdjustScalingFactors) alpha *= (double)rank / ranks[i];
                if (rank != options.Rank) rankPattern[path] = rank;
                if (alpha != options.Alpha) alphaPattern[path] = alpha;
            }
            return options with { Targets = new TargetSpec(kept), RankPattern = rankPattern, AlphaPattern = alphaPattern };
        }
        finally
        {
            for (var i = 0; i < targets.Count; i++) targets[i].Layer.Adapter = recorders[i].Previous;
        }
    }

    /// <summary>One forward pass without gradients that leaves each active recorder holding its layer's unmasked input rows.</summary>
    private static void Record(PretrainedModel model, ModelBatch batch, InputRecorder[] recorders, EvaOptions eva)
    {
        var keep = new List<int>();
        for (var i = 0; i < batch.Batch * batch.Length; i++)
        {
            var labelled = !eva.UseLabelMask || batch.TokenLabels == null || batch.TokenLabels[i] != eva.LabelMaskValue;
            if (batch.AttentionMask[i] != 0 && labelled) keep.Add(i);
        }
        foreach (var r in recorders) r.Positions = (batch.Batch * batch.Length, keep.ToArray());
        using var _ = GradMode.NoGrad();
        model.Forward(batch, ForwardContext.Observation);
    }

    private static bool[] CosineSettled(float[] previous, float[] current, int components, int features, double tau)
    {
        // torch.cosine_similarity: a·b / max(‖a‖‖b‖, 1e-8).
        var settled = new bool[components];
        for (var c = 0; c < components; c++)
        {
            double dot = 0, na = 0, nb = 0;
            for (var f = 0; f < features; f++)
            {
                var (a, b) = (previous[c * features + f], current[c * features + f]);
                dot += a * b;
                na += a * a;
                nb += b * b;
            }
            settled[c] = dot / Math.Max(Math.Sqrt(na) * Math.Sqrt(nb), 1e-8) >= tau;
        }
        return settled;
    }

    /// <summary>
    /// The budget goes to the largest explained-variance ratios over every layer (a shared decomposition offers its
    /// ratios once per layer it serves); of layers sharing inputs the decomposition's owner keeps the larger rank.
    /// </summary>
    private static int[] Redistribute(int[] owners, int[] source, int[] offered, IncrementalPca?[] pca, int budget)
    {
        // peft lists decomposition owners first, then the layers that share one, in module order.
        var order = owners.Concat(Enumerable.Range(0, source.Length).Where(i => source[i] != i)).ToArray();
        var candidates = order.SelectMany(layer => pca[source[layer]]!.ExplainedVarianceRatio.Take(offered[layer]).Select(ratio => (layer, ratio)));
        var counts = new int[source.Length];
        foreach (var (layer, _) in candidates.OrderByDescending(c => c.ratio).Take(budget)) counts[layer]++;
        for (var i = 0; i < source.Length; i++)
        {
            var owner = source[i];
            if (owner != i && counts[owner] < counts[i]) (counts[owner], counts[i]) = (counts[i], counts[owner]);
        }
        return counts;
    }

    /// <summary>
    /// Stands in for a target layer during the data pass: computes the plain layer output and keeps a copy of the
    /// input rows at unmasked positions.
    /// </summary>
    private sealed class InputRecorder(ILinearAdapter? previous) : ILinearAdapter
    {
        public ILinearAdapter? Previous { get; } = previous;

        public bool Active { get; set; } = true;

        /// <summary>Positions in the batch (B·T) and the ones to keep.</summary>
        public (int Count, int[] Keep) Positions { get; set; } = (0, []);

        public float[] Input { get; private set; } = [];

        public int Rows => Positions.Keep.Length;

        public Tensor Forward(Linear layer, Tensor x, ForwardContext context)
        {
            if (Active)
            {
                var features = layer.InFeatures;
                if (x.Size != Positions.Count * features)
                    throw new InvalidOperationException($"EVA: a layer input of {x.Size} values is not one row of {features} features per batch position.");
                var source = x.Contiguous().AsSpan();
                var keep = Positions.Keep;
                Input = new float[keep.Length * features];
                for (var r = 0; r < keep.Length; r++) source.Slice(keep[r] * features, features).CopyTo(Input.AsSpan(r * features, features));
            }
            return Ops.Linear(x, layer.Weight, layer.Bias);
        }
    }
}
