using System.Text.Json.Nodes;
using EfficientFT.Models;
using EfficientFT.Models.Nn;
using EfficientFT.Models.SafeTensors;

namespace EfficientFT.Peft.Methods;

/// <summary>
/// SIFT, sparse increment fine-tuning (Song et al. 2023, "Sparse is Enough in Fine-tuning Pre-trained Large Language
/// Models", §4): every targeted tensor W (weight and bias) becomes W + δ with a k-sparse δ,
/// <code>
/// k = min(⌊ρ·|W|⌋ + 1, |W|),   supp(δ) = the k largest |∂L/∂W| of the first step,
/// δ_S ← AdamW(δ_S, (∂L/∂W)_S) every step from the first,
/// </code>
/// so the optimizer holds state for k values per tensor instead of |W|, and the trained tensors are the δ vectors,
/// named "&lt;tensor&gt;_sparse" as the reference registers them. The support is chosen inside the first backward
/// (<see cref="SparseIncrement"/>), the way the paper's hook-based implementation gets sparse gradients without
/// keeping dense ones, so no trainer special case is needed; the method is a step hook only so that checkpoints keep
/// the chosen indices (<see cref="IStatefulStepHook"/>), without which a resumed run would choose them again.
/// <para>
/// The reference (song-wx/SIFT sift.py, recorded by the roberta_cls__sift fixture) does three things differently,
/// all artefacts of a gradient hook that handles the tensor whose gradient arrived just before its own: the first
/// gradient only picks the support and is then discarded, so step 1 trains nothing; each later update is written
/// into W during the next backward, one step late, so the last one is never applied; and the tensor backward reaches
/// last (layer 0's query weight) is never handled, so it keeps random indices and never trains. Here every tensor's
/// support comes from its first gradient, which also drives the first update, applied in the same step. The
/// supports agree with the reference's wherever it chose one from a gradient; the trajectories part from step 2.
/// </para>
/// </summary>
public sealed class Sift : IPeftMethod, IStatefulStepHook
{
    private readonly List<(string Name, SparseIncrement Increment)> _increments = [];

    public string Name => "sift";

    public bool UsesPeftKeys => false;

    public IReadOnlyList<PeftParameter> Apply(PretrainedModel model, IReadOnlyList<(string Path, Linear Layer)> targets, PeftOptions options)
    {
        var rate = options.SparseRate;
        if (!(rate > 0 && rate <= 1)) throw new ArgumentException($"sift: the sparse rate must be in (0, 1], got {rate}.");
        var trained = new List<PeftParameter>();
        _increments.Clear();
        foreach (var (path, layer) in targets)
        {
            var role = TargetSpec.RoleOf(path);
            var weight = new SparseIncrement(layer.Weight, Count(layer.Weight.Size, rate));
            var bias = layer.Bias == null ? null : new SparseIncrement(layer.Bias, Count(layer.Bias.Size, rate));
            layer.Adapter = new SiftAdapter(weight, bias);
            trained.Add(new PeftParameter(path + ".weight_sparse", weight.Values, role, "sparse"));
            _increments.Add((path + ".weight_sparse", weight));
            if (bias == null) continue;
            trained.Add(new PeftParameter(path + ".bias_sparse", bias.Values, role, "sparse"));
            _increments.Add((path + ".bias_sparse", bias));
        }
        return trained;
    }

    /// <summary>"sift.&lt;trained tensor&gt;.indices" (int32) for every tensor whose indices are chosen.</summary>
    public IEnumerable<SafeTensorsEntry> SaveState()
    {
        foreach (var (name, increment) in _increments)
            if (increment.Indices is { } indices)
                yield return SafeTensorsEntry.FromValues($"sift.{name}.indices", SafeTensorsDType.I32, indices, indices.Length);
    }

    public void LoadState(SafeTensorsFile state)
    {
        foreach (var (name, increment) in _increments)
            if (state.Contains($"sift.{name}.indices"))
                increment.RestoreIndices(state.GetInt32($"sift.{name}.indices"), $"{state.Path}: sift.{name}.indices");
    }

    /// <summary>k = min(⌊ρ·n⌋ + 1, n), as the reference counts (one more than ρ·n even when that is whole).</summary>
    internal static int Count(int size, double rate) => (int)Math.Min((long)(rate * size) + 1, size);

    /// <summary>
    /// Refused: the δ vectors mean nothing without their indices, which no adapter format here holds. A SIFT model
    /// is saved merged (<see cref="PeftModel.MergeAndUnload"/>), as the reference leaves it.
    /// </summary>
    public JsonObject AdapterConfig(PeftOptions options, IReadOnlyList<string> targetModules, IReadOnlyList<string> modulesToSave, string? taskType) =>
        throw new NotSupportedException("sift: an adapter file would lose the sparse indices; save the merged model (MergeAndUnload) instead.");
}
