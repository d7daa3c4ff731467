using EfficientFT.Models.Configs;
using EfficientFT.Models.Nn;
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

    /// <summary>peft's task_type for this architecture ("SEQ_CLS", "CAUSAL_LM"), or null where peft has none.</summary>
    public virtual string? PeftTaskType => null;

    /// <summary>Logits for the batch, and the loss when it carries labels.</summary>
    public abstract ModelOutput Forward(ModelBatch batch, ForwardContext context);

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
        LoadTensors(tensors.Keys.ToHashSet(StringComparer.Ordinal), name => tensors[name], source, rng);

    /// <summary>
    /// As <see cref="LoadTensors(IReadOnlyDictionary{string, Tensor}, string, Rng?)"/>, reading each tensor only when
    /// it is copied in (<paramref name="read"/>), so that loading never holds a second copy of the whole model.
    /// </summary>
    public LoadReport LoadTensors(IReadOnlySet<string> names, Func<string, Tensor> read, string source, Rng? rng = null)
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
            var value = read(name);
            if (!Shapes.SameShape(value.Shape, target.Shape))
                throw new InvalidDataException($"{source}: tensor {name} has shape {Shapes.Format(value.Shape)}, but {Architecture} expects {Shapes.Format(target.Shape)}.");
            target.CopyFrom(value.Contiguous().AsSpan());
        }
        var known = own.Select(p => p.Name).ToHashSet();
        var unused = names.Where(k => !known.Contains(k) && !IsIgnoredCheckpointName(k)).Order(StringComparer.Ordinal).ToList();
        return new LoadReport(missing, unused);
    }
}
