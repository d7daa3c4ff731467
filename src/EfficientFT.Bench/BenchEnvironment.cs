using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using System.Runtime.InteropServices;
using EfficientFT.Models.Hub;

namespace EfficientFT.Bench;

/// <summary>Where the embedded assets are, which code and machine produced a result, and the process's peak memory.</summary>
public static class BenchEnvironment
{
    /// <summary>
    /// The embedded model and tasks: $EFT_ASSETS when set (a directory holding model/ and tasks/), else
    /// assets/default beside the binary (the CLI project copies the repository's assets/default there).
    /// </summary>
    public static string AssetsDirectory => Environment.GetEnvironmentVariable("EFT_ASSETS") is { Length: > 0 } dir
        ? dir
        : Path.Combine(AppContext.BaseDirectory, "assets", "default");

    /// <summary>"embedded" → ASSETS/model; else a directory, or a repository id in the Hugging Face cache.</summary>
    public static string ResolveModel(string model, string assetsDirectory)
    {
        var dir = model == "embedded" ? Path.Combine(assetsDirectory, "model") : ModelLocation.Resolve(model);
        if (!File.Exists(Path.Combine(dir, "config.json")))
            throw new FileNotFoundException($"model '{model}': {dir} has no config.json{(model == "embedded" ? " (the embedded model is made by `eft pretrain`; EFT_ASSETS points elsewhere)" : "")}.");
        if (!File.Exists(Path.Combine(dir, "tokenizer.json")))
            throw new FileNotFoundException($"model '{model}': {dir} has no tokenizer.json, which the benchmark tokenizes its tasks with.");
        return dir;
    }

    /// <summary>The git commit the binary was built from ("+dirty" with local changes), or "unknown".</summary>
    public static string CodeVersion { get; } = typeof(BenchEnvironment).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
        .FirstOrDefault(a => a.Key == "EftCodeVersion")?.Value is { Length: > 0 } v ? v : "unknown";

    public static string Machine { get; } = Describe();

    private static string Describe()
    {
        string? cpu = null;
        try
        {
            if (File.Exists("/proc/cpuinfo"))
                cpu = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim();
        }
        catch (IOException)
        {
        }
        return string.Create(CultureInfo.InvariantCulture,
            $"{Environment.ProcessorCount} cores{(cpu != null ? $" ({cpu})" : "")}, {RuntimeInformation.OSDescription} {RuntimeInformation.ProcessArchitecture}, .NET {Environment.Version}");
    }

    /// <summary>Starts a new peak: on Linux the kernel's high-water mark of the resident set is reset to the current size.</summary>
    public static void ResetPeakMemory()
    {
        try
        {
            if (OperatingSystem.IsLinux()) File.WriteAllText("/proc/self/clear_refs", "5");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Some containers forbid it; the peak then covers the process's life so far.
        }
    }

    /// <summary>Peak resident set since <see cref="ResetPeakMemory"/> (Linux VmHWM), else the process's peak working set.</summary>
    public static long PeakMemoryBytes()
    {
        try
        {
            if (OperatingSystem.IsLinux())
            {
                var line = File.ReadLines("/proc/self/status").FirstOrDefault(l => l.StartsWith("VmHWM:", StringComparison.Ordinal));
                if (line != null && long.TryParse(line["VmHWM:".Length..].Trim().Split(' ')[0], NumberStyles.None, CultureInfo.InvariantCulture, out var kb))
                    return kb * 1024;
            }
        }
        catch (IOException)
        {
        }
        using var process = Process.GetCurrentProcess();
        return process.PeakWorkingSet64;
    }
}
