using EfficientFT.Models.Configs;
using EfficientFT.Models.Nn;
using EfficientFT.Models.SafeTensors;
using EfficientFT.Tensors;

namespace EfficientFT.Models;

/// <summary>A whole model with Hugging Face parameter names: runs a batch, loads and lists its tensors.</summary>
public abstract class PretrainedModel : Module
{
    /// <summary>The architecture name as config.json's "architectures" spells it.</summary>
    public abstract string Architecture { get; }

    /// <summary>The configuration the model was built from (written back as config.json on save).</summary>
    public abstract ModelConfig ModelConfig { get; }

    /// <summary>
    /// Tensors a checkpoint of another architecture may lack because they belong to this model's task head; they
    /// are initialised fresh when missing (as transformers does when a classifier is put on a pretrained body).
    /// </summary>
    protected virtual bool IsHeadTensor(string name) => false;

    /// <summary>
    /// The task head's modules (peft's modules_to_save): trained in full beside any method. Empty for language models.
    /// </summary>
    public virtual IReadOnlyList<string> HeadModules => [];

    /// <summary>Whether a module or tensor path is a head module or inside one.</summary>
    public bool IsInHead(string path) => HeadModules.Any(h => path == h || path.StartsWith(h + ".", StringComparison.Ordinal));

    /// <summary>peft's task_type for this architecture ("SEQ_CLS", "CAUSAL_LM"), or null where peft has none.</summary>
    public virtual string? PeftTaskType => null;

    /// <summary>Logits for the batch, and the loss when it carries labels.</summary>
    public abstract ModelOutput Forward(ModelBatch batch, ForwardContext context);

    /// <summary>
    /// How many targets the batch's loss averages over (labels other than −100; for a causal LM, after the shift), so
    /// that a step of several micro-batches can weigh each target the same.
    /// </summary>
    /// <exception cref="InvalidDataException">The batch lacks the kind of labels this model's loss reads.</exception>
    public abstract int LossItems(ModelBatch batch);

    /// <summary>
    /// Run a language-model head (causal or masked) only at the positions that have a target, so logits are
    /// [targets, vocab] rather than [batch, length, vocab]. The loss and every gradient are the same (cross-entropy
    /// ignores the other positions); what is saved is the head's product and two vocabulary-wide arrays (logits and
    /// their gradient) per ignored position: masked pretraining's 85%, a prompt's tokens, pads, row ends. A sequence
    /// classifier reads one position per row and ignores it.
    /// </summary>
    public bool LogitsAtTargetsOnly { get; set; }

    /// <summary>
    /// With <see cref="LogitsAtTargetsOnly"/>, the hidden rows [N, C] at the positions whose target is not −100 and
    /// those targets; otherwise, or where no position has a target, the hidden states and targets as they are.
    /// </summary>
    protected (Tensor Hidden, int[] Targets) AtTargets(Tensor hidden, int[] targets)
    {
        var positions = LogitsAtTargetsOnly ? Enumerable.Range(0, targets.Length).Where(i => targets[i] != -100).ToArray() : [];
        return positions.Length == 0
            ? (hidden, targets)
            : (Ops.Embedding(hidden.Reshape(-1, hidden.Dim(-1)), positions, [positions.Length]), positions.Select(i => targets[i]).ToArray());
    }

    /// <summary>The token labels other than −100 of a language model's batch, or the error that it has none.</summary>
    protected int CountTokenTargets(int[]? labels) => labels?.Count(l => l != -100)
        ?? throw new InvalidDataException($"{Architecture} computes its loss from token labels (\"labels\"), and the rows have none (eft tokenize --rows --causal-lm writes them for a causal language model).");

    /// <summary>
    /// Names in a checkpoint that this model deliberately does not use (for example RoBERTa's pooler, which the
    /// classification and masked-LM heads never read). They are skipped without a warning.
    /// </summary>
    protected virtual bool IsIgnoredCheckpointName(string name) => false;

    /// <summary>
    /// Copies tensors by name into this model. Every tensor of the body must be present with the same shape; a
    /// missing head tensor is initialised with N(0, initializer_range) (biases and norms as at construction).
    /// </summary>
    /// <param name="source">Where the checkpoint came from, for messages.</param>
    public LoadReport LoadTensors(IReadOnlyDictionary<string, Tensor> tensors, string source, Rng? rng = null) =>
        LoadTensors(tensors.Keys.ToHashSet(StringComparer.Ordinal), name => tensors[name].ShapeArray(),
            (name, target) => target.CopyFrom(tensors[name].Contiguous().AsSpan()), source, rng);

    /// <summary>
    /// As <see cref="LoadTensors(IReadOnlyDictionary{string, Tensor}, string, Rng?)"/>, straight from a checkpoint:
    /// each tensor is read into its place piece by piece (<see cref="SafeTensorsCheckpoint.ReadInto"/>), so loading
    /// never holds a second copy of the model, nor a float32 copy of a tensor held in bfloat16.
    /// </summary>
    /// <param name="names">The checkpoint's tensors to consider (all of them, or all but a head to start fresh).</param>
    /// <exception cref="InvalidDataException">A tensor the model takes is stored as integers or 8-bit floats.</exception>
    public LoadReport LoadTensors(SafeTensorsCheckpoint checkpoint, IReadOnlySet<string> names, string source, Rng? rng = null) =>
        LoadTensors(names, name =>
        {
            var info = checkpoint.GetInfo(name);
            // A quantized checkpoint (bitsandbytes' int8, FP8) keeps a weight's shape and stores its scales beside it:
            // read as numbers, its codes would load as weights a hundred times too large, without a word.
            if (!info.DType.IsFloatingPoint() || info.DType.ElementSize() == 1)
                throw new InvalidDataException($"{source}: tensor {name} is stored as {info.DType.HeaderName()}, not as floating point of 16 bits or more: a quantized checkpoint, which eft does not read; use the unquantized weights.");
            return info.IntShape(source);
        }, checkpoint.ReadInto, source, rng);

    private LoadReport LoadTensors(IReadOnlySet<string> names, Func<string, int[]> shapeOf, Action<string, Tensor> copyInto, string source, Rng? rng)
    {
        var own = NamedTensors().ToList();
        var missing = own.Where(p => !names.Contains(p.Name)).Select(p => p.Name).ToList();
        var missingBody = missing.Where(n => !IsHeadTensor(n)).ToList();
        if (missingBody.Count > 0)
            throw new InvalidDataException($"{source}: checkpoint lacks {missingBody.Count} tensor(s) of {Architecture}: {string.Join(", ", missingBody.Take(8))}{(missingBody.Count > 8 ? ", …" : "")}");
        foreach (var (name, target) in own)
        {
            if (!names.Contains(name))
            {
                if (target.Rank != 2) continue;
                var values = new float[target.Size];
                (rng ?? new Rng(0)).FillNormal(values, 0f, (float)ModelConfig.InitializerRange);
                target.CopyFrom(values);
                continue;
            }
            var shape = shapeOf(name);
            if (!Shapes.SameShape(shape, target.Shape))
                throw new InvalidDataException($"{source}: tensor {name} has shape {Shapes.Format(shape)}, but {Architecture} expects {Shapes.Format(target.Shape)}.");
            copyInto(name, target);
        }
        var known = own.Select(p => p.Name).ToHashSet();
        var unused = names.Where(k => !known.Contains(k) && !IsIgnoredCheckpointName(k)).Order(StringComparer.Ordinal).ToList();
        return new LoadReport(missing, unused);
    }
}
