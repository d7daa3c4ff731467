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
    public static IDisposable NoGrad()
    {
        _disabledDepth++;
        return new Scope();
    }

    private sealed class Scope : IDisposable
    {
        private bool _disposed;

        public void Dispose()
        {
            if (_disposed) return;
            _disposed = true;
            _disabledDepth--;
        }
    }
}
