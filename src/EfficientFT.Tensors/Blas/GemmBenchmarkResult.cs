namespace EfficientFT.Tensors.Blas;

/// <summary>Timings of one path on one shape at one thread count; GFLOP/s is 2·m·n·k over the median.</summary>
public sealed record GemmBenchmarkResult(string Path, GemmShape Shape, int Threads, int Repetitions,
    double MedianMs, double MinMs, double MaxMs)
{
    public double Gflops => Shape.Flops / (MedianMs * 1e6);
}
