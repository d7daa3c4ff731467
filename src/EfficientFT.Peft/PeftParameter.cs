using EfficientFT.Tensors;

namespace EfficientFT.Peft;

/// <summary>
/// One trainable tensor of a PEFT model: its key as peft saves it (or the plain Hugging Face name for methods that
/// train base tensors), the tensor, the projection it belongs to, and its kind ("lora_A", "lora_B", "head", …), which
/// optimizer grouping rules such as LoRA+ read.
/// </summary>
public sealed record PeftParameter(string Name, Tensor Value, ProjectionRole Role, string Kind);
