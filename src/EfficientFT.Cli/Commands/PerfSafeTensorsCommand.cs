using System.CommandLine;
using System.Diagnostics;
using EfficientFT.Models.SafeTensors;
using EfficientFT.Tensors;

namespace EfficientFT.Cli.Commands;

/// <summary>
/// `perf safetensors`: writes a checkpoint-shaped file of the given size, then times opening it (header only,
/// memory-mapped) and loading every tensor as float32, against a plain read of the same bytes.
/// </summary>
public static class PerfSafeTensorsCommand
{
    public static Command Create()
    {
        var megabytes = new Option<int>("--megabytes") { Description = "File size to generate.", DefaultValueFactory = _ => 500 };
        var dtype = new Option<SafeTensorsDType>("--dtype") { Description = "Stored dtype: F32, F16 or BF16.", DefaultValueFactory = _ => SafeTensorsDType.F32 };
        var directory = new Option<string?>("--dir") { Description = "Where to write the file (default: the temp directory). It is deleted afterwards." };
        var command = new Command("safetensors", "Time loading a generated safetensors file of --megabytes MB.") { megabytes, dtype, directory };
        command.SetAction(r => CommandErrors.Run(() => Run(r.GetValue(megabytes), r.GetValue(dtype), r.GetValue(directory))));
        return command;
    }

    /// <summary>Seconds to materialise every tensor of the file as float32.</summary>
    private static double LoadAll(SafeTensorsFile file)
    {
        var clock = Stopwatch.StartNew();
        var tensors = file.Names.Select(file.GetTensor).ToList();
        var seconds = clock.Elapsed.TotalSeconds;
        GC.KeepAlive(tensors);
        return seconds;
    }

    private static int Run(int megabytes, SafeTensorsDType dtype, string? directory)
    {
        if (megabytes < 1) throw new ArgumentException($"--megabytes must be at least 1, got {megabytes}.");
        var elementSize = dtype.ElementSize();
        // Matrices the size of a BERT-base MLP weight (3072 × 768), as many as fill the requested size.
        const int rows = 3072, cols = 768;
        var count = Math.Max(1, (int)((long)megabytes * 1_000_000 / ((long)rows * cols * elementSize)));
        var rng = new Rng(1);
        var path = Path.Combine(directory ?? Path.GetTempPath(), $"eft-perf-{Environment.ProcessId}.safetensors");
        try
        {
            var clock = Stopwatch.StartNew();
            var template = Tensor.Normal(rng, 0, 0.02f, rows, cols);
            SafeTensorsWriter.Save(path, Enumerable.Range(0, count).Select(i => SafeTensorsEntry.FromTensor($"layer.{i}.weight", template, dtype)),
                new Dictionary<string, string> { ["format"] = "pt" });
            var writeSeconds = clock.Elapsed.TotalSeconds;
            var bytes = new FileInfo(path).Length;

            clock.Restart();
            var raw = File.ReadAllBytes(path);
            var readSeconds = clock.Elapsed.TotalSeconds;
            GC.KeepAlive(raw);
            raw = null;
            GC.Collect();

            clock.Restart();
            using var file = SafeTensorsFile.Open(path);
            var openSeconds = clock.Elapsed.TotalSeconds;
            var firstLoad = LoadAll(file);
            GC.Collect();
            GC.WaitForPendingFinalizers();
            var secondLoad = LoadAll(file);

            var mb = bytes / 1e6;
            Console.WriteLine($"file: {count} tensors of {rows}×{cols} {dtype}, {mb:F0} MB, written in {writeSeconds:F2} s");
            Console.WriteLine($"open (memory-map, parse header):   {openSeconds * 1e3,8:F2} ms");
            Console.WriteLine($"load every tensor as float32:      {firstLoad * 1e3,8:F0} ms  ({mb / firstLoad:F0} MB/s) into fresh process memory");
            Console.WriteLine($"load again:                        {secondLoad * 1e3,8:F0} ms  ({mb / secondLoad:F0} MB/s) into memory the GC reuses");
            Console.WriteLine($"plain File.ReadAllBytes, for scale: {readSeconds * 1e3,8:F0} ms  ({mb / readSeconds:F0} MB/s)");
            Console.WriteLine("The file was just written, so it is read from the page cache: these are warm-cache figures. The gap between");
            Console.WriteLine("the two loads is the kernel faulting in new pages for the destination arrays, not the copy.");
            return 0;
        }
        finally
        {
            File.Delete(path);
        }
    }
}
