namespace EfficientFT.Cli.Tests;

/// <summary>What a command writes to standard error while this lives; <see cref="ToString"/> is the text so far.</summary>
internal sealed class ErrorCapture : IDisposable
{
    private readonly TextWriter _previous = Console.Error;
    private readonly StringWriter _text = new();

    public ErrorCapture() => Console.SetError(_text);

    public override string ToString() => _text.ToString();

    public void Dispose() => Console.SetError(_previous);
}
