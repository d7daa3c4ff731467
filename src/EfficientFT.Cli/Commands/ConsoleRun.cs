using System.Diagnostics;
using System.Globalization;
using EfficientFT.Models;
using EfficientFT.Training;
using Spectre.Console;

namespace EfficientFT.Cli.Commands;

/// <summary>
/// What the long commands share on the console: whether there is a terminal to draw progress on, Ctrl+C that stops
/// the work after its current step rather than killing it, and training with progress shown.
/// </summary>
internal static class ConsoleRun
{
    /// <summary>Lets a test render the progress display into a recording console, where no terminal decides.</summary>
    internal static bool? InteractiveOverride { get; set; }

    internal static bool Interactive => InteractiveOverride ??
        (!Console.IsOutputRedirected && AnsiConsole.Profile.Capabilities.Interactive && Environment.GetEnvironmentVariable("CI") == null);

    /// <summary>
    /// Until disposed, the first Ctrl+C cancels <see cref="Token"/> instead of ending the process, so the work can stop
    /// at a point it can resume from; a second Ctrl+C ends the process as usual.
    /// </summary>
    internal sealed class CtrlC : IDisposable
    {
        private readonly CancellationTokenSource _source = new();

        public CtrlC() => Console.CancelKeyPress += OnCancel;

        public CancellationToken Token => _source.Token;

        private void OnCancel(object? sender, ConsoleCancelEventArgs e)
        {
            if (_source.IsCancellationRequested) return;
            e.Cancel = true;
            _source.Cancel();
        }

        public void Dispose()
        {
            Console.CancelKeyPress -= OnCancel;
            _source.Dispose();
        }
    }

    /// <summary>
    /// Trains with a progress bar on a terminal, or a line every twentieth of the run otherwise: the step, the loss and
    /// the training rate in tokens per second.
    /// </summary>
    /// <param name="tokensPerStep">The tokens an optimizer step takes on average, for the rate.</param>
    internal static TrainingResult Train(Trainer trainer, ModelBatch data, string what, double tokensPerStep, CancellationToken cancellation)
    {
        var clock = Stopwatch.StartNew();
        var firstStep = -1;
        string Line(int step, int total, float loss)
        {
            // The rate counts from the first step this process took: a resumed run's earlier steps took no time here.
            if (firstStep < 0) (firstStep, clock) = (step, Stopwatch.StartNew());
            var rate = step > firstStep ? (step - firstStep) * tokensPerStep / clock.Elapsed.TotalSeconds : 0;
            return string.Create(CultureInfo.InvariantCulture, $"{what}: step {step}/{total}  loss {loss:F4}  {rate:F0} tokens/s");
        }
        if (!Interactive)
        {
            trainer.StepCompleted = (step, total, loss) =>
            {
                var line = Line(step, total, loss);
                if (step % Math.Max(1, total / 20) == 0 || step == total) Console.WriteLine(line);
            };
            return trainer.Train(data, cancellation);
        }
        TrainingResult? result = null;
        AnsiConsole.Progress()
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
            .Start(ctx =>
            {
                var task = ctx.AddTask(Markup.Escape(what), maxValue: 1);
                trainer.StepCompleted = (step, total, loss) =>
                {
                    task.MaxValue = total;
                    task.Description = Markup.Escape(Line(step, total, loss));
                    task.Value = step;
                };
                result = trainer.Train(data, cancellation);
            });
        return result!;
    }
}
