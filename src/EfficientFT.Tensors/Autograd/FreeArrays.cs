using System.Diagnostics.CodeAnalysis;

namespace EfficientFT.Tensors.Autograd;

/// <summary>Spare float arrays by exact length, for the pools that hand storage out again.</summary>
internal sealed class FreeArrays
{
    private readonly Dictionary<int, Stack<float[]>> _byLength = [];

    /// <summary>Bytes held.</summary>
    public long Bytes { get; private set; }

    public bool TryTake(int length, [NotNullWhen(true)] out float[]? array)
    {
        array = null;
        if (!_byLength.TryGetValue(length, out var stack) || !stack.TryPop(out array)) return false;
        Bytes -= 4L * length;
        return true;
    }

    public void Put(float[] array)
    {
        if (!_byLength.TryGetValue(array.Length, out var stack)) _byLength[array.Length] = stack = new Stack<float[]>();
        stack.Push(array);
        Bytes += 4L * array.Length;
    }

    public void Clear()
    {
        _byLength.Clear();
        Bytes = 0;
    }
}
