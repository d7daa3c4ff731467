namespace EfficientFT.Tensors.Autograd;

/// <summary>
/// Storage for the gradients of intermediate tensors, handed back when backward has sent a gradient on and reused
/// by the next ones (in this pass and the next step's). A fresh array costs more than its size here: the GC gives
/// out memory it returned to the OS, and every 4 KiB page of it faults on first touch, which on these VMs costs more
/// than the arithmetic that fills it. Per thread, so ops need no lock; bounded, so an idle model holds little.
/// </summary>
internal static class GradientPool
{
    private const long MaxBytes = 256L << 20;

    [ThreadStatic] private static FreeArrays? _free;

    /// <summary>An array of exactly <paramref name="length"/> elements whose contents are undefined.</summary>
    public static float[] Rent(int length) =>
        _free != null && _free.TryTake(length, out var array) ? array : GC.AllocateUninitializedArray<float>(length);

    /// <summary>Takes back an array nothing reads or writes any more.</summary>
    public static void Return(float[] array)
    {
        _free ??= new FreeArrays();
        if (_free.Bytes + 4L * array.Length <= MaxBytes) _free.Put(array);
    }
}
