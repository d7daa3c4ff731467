using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace EfficientFT.Tensors.Blas;

/// <summary>
/// A growable packing buffer on the pinned object heap, aligned to a cache line. Kept per thread so repeated
/// products neither allocate nor pin, and so panels never straddle a cache line at their start.
/// </summary>
internal sealed unsafe class PackBuffer
{
    private const int AlignFloats = 16;
    private float[] _array = [];
    private float* _aligned;

    public float* Get(int floats)
    {
        if (_array.Length < floats + AlignFloats)
        {
            _array = GC.AllocateUninitializedArray<float>(floats + AlignFloats, pinned: true);
            var address = (nint)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(_array));
            _aligned = (float*)((address + AlignFloats * sizeof(float) - 1) & ~(nint)(AlignFloats * sizeof(float) - 1));
        }
        return _aligned;
    }
}
