namespace EfficientFT.Models.SafeTensors;

/// <summary>
/// Element types of the safetensors format. They are declared in the order of the reference library's <c>Dtype</c>
/// enum, which is its order of increasing alignment: the writer lays tensors out by descending position here (then by
/// name), so every tensor starts at an offset that is a multiple of its element size.
/// </summary>
public enum SafeTensorsDType
{
    Bool,
    U8,
    I8,
    F8E5M2,
    F8E4M3,
    I16,
    U16,
    F16,
    BF16,
    I32,
    U32,
    F32,
    F64,
    I64,
    U64,
}
