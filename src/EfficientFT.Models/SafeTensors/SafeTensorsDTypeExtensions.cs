namespace EfficientFT.Models.SafeTensors;

/// <summary>Per-dtype facts of the safetensors format: element size and the spelling used in the header.</summary>
public static class SafeTensorsDTypeExtensions
{
    private static readonly (SafeTensorsDType DType, string Name, int Size)[] Table =
    [
        (SafeTensorsDType.Bool, "BOOL", 1),
        (SafeTensorsDType.U8, "U8", 1),
        (SafeTensorsDType.I8, "I8", 1),
        (SafeTensorsDType.F8E5M2, "F8_E5M2", 1),
        (SafeTensorsDType.F8E4M3, "F8_E4M3", 1),
        (SafeTensorsDType.I16, "I16", 2),
        (SafeTensorsDType.U16, "U16", 2),
        (SafeTensorsDType.F16, "F16", 2),
        (SafeTensorsDType.BF16, "BF16", 2),
        (SafeTensorsDType.I32, "I32", 4),
        (SafeTensorsDType.U32, "U32", 4),
        (SafeTensorsDType.F32, "F32", 4),
        (SafeTensorsDType.F64, "F64", 8),
        (SafeTensorsDType.I64, "I64", 8),
        (SafeTensorsDType.U64, "U64", 8),
    ];

    /// <summary>Bytes per element.</summary>
    public static int ElementSize(this SafeTensorsDType dtype) => Entry(dtype).Size;

    /// <summary>The name the header uses, e.g. "BF16" or "F8_E4M3".</summary>
    public static string HeaderName(this SafeTensorsDType dtype) => Entry(dtype).Name;

    /// <summary>True for the floating-point types (F8, F16, BF16, F32, F64).</summary>
    public static bool IsFloatingPoint(this SafeTensorsDType dtype) => dtype is SafeTensorsDType.F8E5M2
        or SafeTensorsDType.F8E4M3 or SafeTensorsDType.F16 or SafeTensorsDType.BF16 or SafeTensorsDType.F32
        or SafeTensorsDType.F64;

    internal static bool TryParse(string name, out SafeTensorsDType dtype)
    {
        foreach (var e in Table)
        {
            if (e.Name == name)
            {
                dtype = e.DType;
                return true;
            }
        }
        dtype = default;
        return false;
    }

    internal static string KnownNames => string.Join(", ", Table.Select(e => e.Name));

    private static (SafeTensorsDType DType, string Name, int Size) Entry(SafeTensorsDType dtype) =>
        (uint)dtype < (uint)Table.Length
            ? Table[(int)dtype]
            : throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "Not a safetensors dtype.");
}
