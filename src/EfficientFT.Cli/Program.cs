using EfficientFT.Cli.Commands;
using EfficientFT.Tensors;

// The engine falls back to every core on a value it cannot use; a user who set one should hear that it was not used.
if (Environment.GetEnvironmentVariable("EFT_THREADS") is { Length: > 0 } threads && (!int.TryParse(threads, out var n) || n < 1))
    Console.Error.WriteLine($"eft: warning: EFT_THREADS='{threads}' is not a positive whole number; using {Threading.Count} threads.");
return EftCommand.Create().Parse(args).Invoke();
