using EfficientFT.Tensors;

namespace EfficientFT.Peft;

/// <summary>A method whose saved adapter differs from its live tensors (AdaLoRA saves only the ranks it kept).</summary>
public interface IAdapterExporter
{
    /// <summary>The tensors adapter_model.safetensors holds, by key.</summary>
    IEnumerable<KeyValuePair<string, Tensor>> TensorsToSave(IReadOnlyList<PeftParameter> trainable);
}
