using Spectre.Console;

namespace EfficientFT.Cli.Tests;

/// <summary>
/// Captures what a command prints, through Console.Out and through Spectre's AnsiConsole alike. AnsiConsole binds to
/// the Console.Out it finds when first used, so redirecting Console.Out alone left tables and progress going wherever
/// an earlier test had been printing.
/// </summary>
internal sealed class ConsoleCapture : IDisposable
{
    private readonly TextWriter _previousOut = Console.Out;
    private readonly IAnsiConsole _previousAnsi = AnsiConsole.Console;

    /// <param name="terminal">Render as a terminal would (ANSI, live progress); otherwise as redirected output.</param>
    public ConsoleCapture(bool terminal = false)
    {
        Console.SetOut(Text);
        AnsiConsole.Console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = terminal ? AnsiSupport.Yes : AnsiSupport.No,
            ColorSystem = ColorSystemSupport.NoColors,
            Interactive = terminal ? InteractionSupport.Yes : InteractionSupport.No,
            Out = new AnsiConsoleOutput(Text),
        });
        // A writer has no window: give it a terminal's width, or table and progress columns wrap a character per line.
        AnsiConsole.Console.Profile.Width = 160;
    }

    public StringWriter Text { get; } = new();

    public void Dispose()
    {
        Console.SetOut(_previousOut);
        AnsiConsole.Console = _previousAnsi;
    }
}
