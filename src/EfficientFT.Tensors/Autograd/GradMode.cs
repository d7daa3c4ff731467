namespace EfficientFT.Tensors.Autograd;

/// <summary>
/// Whether ops record themselves for backward. Inference runs inside <see cref="NoGrad"/>, so no activations are
/// kept alive for a backward pass that will never come.
/// </summary>
public static class GradMode
{
    [ThreadStatic] private static int _disabledDepth;

    public static bool IsEnabled => _disabledDepth == 0;

    /// <summary>Disables recording until the returned scope is disposed; scopes nest.</summary>
    public static IDisposable NoGrad() => Enter(_disabledDepth + 1);

    /// <summary>
    /// Enables recording until the returned scope is disposed, inside any <see cref="NoGrad"/>: for a backward rule
    /// that records a forward pass again (<see cref="Ops.Checkpoint"/>; backward itself runs without recording).
    /// </summary>
    internal static IDisposable Recording() => Enter(0);

    private static Scope Enter(int depth)
    {
        var scope = new Scope(_disabledDepth);
        _disabledDepth = depth;
        return scope;
    }

    /// <summary>Puts back the depth it was entered at, once.</summary>
    private sealed class Scope(int outer) : IDisposable
    {
        private bool _disposed;

        public void Dispose()
        {
            if (_disposed) return;
            _disposed = true;
            _disabledDepth = outer;
        }
    }
}
