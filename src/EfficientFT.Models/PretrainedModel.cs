using EfficientFT.Models.Nn;
using EfficientFT.Tensors;

namespace EfficientFT.Models;

/// <summary>A whole model with Hugging Face parameter names: runs a batch, loads and lists its tensors.</summary>
public abstract class PretrainedModel : Module
{
    /// <summary>The architecture name as config.json's "architectures" spells it.</summary>
    public abstract string Architecture { get; }

    /// <summary>Logits for the batch, and the loss when it carries labels.</summary>
    public abstract ModelOutput Forward(ModelBatch batch, ForwardContext context);

    /// <summary>
    /// Names in a checkpoint that this model deliberately does not use (for example RoBERTa's pooler, which the
    /// classification and masked-LM heads never read). They are skipped without a warning.
    /// </summary>
    protected virtual bool IsIgnoredCheckpointName(string name) => false;

    /// <summary>
    /// Copies tensors by name into this model. Every tensor of the model must be present with the same shape;
    /// extra names in the checkpoint are returned so the caller can report them.
    /// </summary>
    /// <param name="source">Where the checkpoint came from, for messages.</param>
    public IReadOnlyList<string> LoadTensors(IReadOnlyDictionary<string, Tensor> tensors, string source)
    {
        var own = NamedTensors().ToList();
        var missing = own.Where(p => !tensors.ContainsKey(p.Name)).Select(p => p.Name).ToList();
        if (missing.Count > 0)
            throw new InvalidDataException($"{source}: checkpoint lacks {missing.Count} tensor(s) of {Architecture}: {string.Join(", ", missing.Take(8))}{(missing.Count > 8 ? ", …" : "")}");
        foreach (var (name, target) in own)
        {
            var value = tensors[name];
            if (!Shapes.SameShape(value.Shape, target.Shape))
                throw new InvalidDataException($"{source}: tensor {name} has shape {Shapes.Format(value.Shape)}, but {Architecture} expects {Shapes.Format(target.Shape)}.");
            target.CopyFrom(value.Contiguous().AsSpan());
        }
        var known = own.Select(p => p.Name).ToHashSet();
        return tensors.Keys.Where(k => !known.Contains(k) && !IsIgnoredCheckpointName(k)).Order(StringComparer.Ordinal).ToList();
    }

    /// <summary>Total number of parameters (tied tensors counted once).</summary>
    public long ParameterCount() =>
        NamedTensors().Select(p => p.Value).Distinct(ReferenceEqualityComparer.Instance).Cast<Tensor>().Sum(t => (long)t.Size);
}
