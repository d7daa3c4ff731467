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

    [ThreadStatic] private static Dictionary<int, Stack<float[]>>? _free;
    [ThreadStatic] private static long _bytes;

    /// <summary>An array of exactly <paramref name="length"/> elements whose contents are undefined.</summary>
    public static float[] Rent(int length)
    {
        if (_free != null && _free.TryGetValue(length, out var stack) && stack.TryPop(out var array))
        {
            _bytes -= 4L * length;
            return array;
        }
        return GC.AllocateUninitializedArray<float>(length);
    }

    /// <summary>Takes back an array nothing reads or writes any more.</summary>
    public static void Return(float[] array)
    {
        if (_bytes + 4L * array.Length > MaxBytes) return;
        _free ??= [];
        if (!_free.TryGetValue(array.Length, out var stack)) _free[array.Length] = stack = new Stack<float[]>();
        stack.Push(array);
        _bytes += 4L * array.Length;
    }
}
