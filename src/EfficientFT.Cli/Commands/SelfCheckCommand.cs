using System.CommandLine;
using System.Diagnostics;
using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;
using System.Runtime.Intrinsics;
using EfficientFT.Tensors;
using EfficientFT.Tensors.Autograd;
using EfficientFT.Tensors.Blas;
using EfficientFT.Tensors.Linalg;
using Spectre.Console;
using O = EfficientFT.Tensors.Ops;

namespace EfficientFT.Cli.Commands;

/// <summary>
/// `selfcheck`: proves on this machine that the engine computes what it should — the matrix-product path against
/// the reference kernel, gradients against finite differences, a small attention model that learns, bitwise
/// determinism — and prints the environment it found. Exits non-zero when any check fails.
/// </summary>
public static class SelfCheckCommand
{
    public static Command Create()
    {
        var command = new Command("selfcheck", "Check the engine on this machine and print what the tool can do.");
        command.SetAction(_ => Run());
        return command;
    }

    private sealed record CheckResult(string Name, bool Passed, string Detail);

    private static int Run()
    {
        PrintEnvironment();
        var checks = new List<Func<CheckResult>> { CheckGemm, CheckSvd, CheckGradients, CheckTraining, CheckDeterminism };
        var table = new Table().AddColumns("check", "result", "detail");
        var failed = 0;
        foreach (var check in checks)
        {
            CheckResult result;
            try
            {
                result = check();
            }
            catch (Exception e)
            {
                result = new CheckResult(check.Method.Name, false, e.Message);
            }
            if (!result.Passed) failed++;
            table.AddRow(Markup.Escape(result.Name), result.Passed ? "[green]pass[/]" : "[red]FAIL[/]", Markup.Escape(result.Detail));
        }
        AnsiConsole.Write(table);
        PrintCapabilities();
        if (failed > 0)
        {
            AnsiConsole.MarkupLine($"[red]{failed} check(s) failed.[/]");
            return 1;
        }
        AnsiConsole.MarkupLine("[green]All engine checks passed.[/]");
        return 0;
    }

    private static void PrintEnvironment()
    {
        var simd = Vector512.IsHardwareAccelerated ? "AVX-512 (Vector512)" : Vector256.IsHardwareAccelerated ? "AVX2 (Vector256)" : "128-bit or none";
        var grid = new Grid().AddColumn().AddColumn();
        grid.AddRow("runtime", Markup.Escape($".NET {Environment.Version}, {Environment.ProcessorCount} processors"));
        grid.AddRow("SIMD", simd);
        grid.AddRow("engine threads", $"{Threading.Count} (EFT_THREADS)");
        grid.AddRow("OpenBLAS", Markup.Escape(OpenBlas.IsAvailable
            ? $"{OpenBlas.LibraryPath}, kernels {OpenBlas.CoreName}"
            : $"not found: {OpenBlas.LoadError}; the managed kernels are used"));
        grid.AddRow("matrix products", Markup.Escape(Gemm.Default.Name + " (EFT_GEMM=managed|openblas|naive overrides)"));
        grid.AddRow("factorizations", Markup.Escape(LinearAlgebra.Backend.Name + " (EFT_LAPACK=native|managed overrides)"));
        AnsiConsole.Write(new Panel(grid).Header("EfficientFT engine"));
    }

    private static void PrintCapabilities()
    {
        AnsiConsole.MarkupLine("[bold]What this build can do[/]");
        AnsiConsole.MarkupLine("  eft selfcheck            this check");
        AnsiConsole.MarkupLine("  eft perf gemm            GFLOP/s of each matrix-product path at transformer shapes");
        AnsiConsole.MarkupLine("  eft download | inspect | forward | tokenize | perf tokenizer   Hugging Face checkpoints and tokenizers");
        AnsiConsole.MarkupLine("  library (EfficientFT.Tensors): float32 tensors with reverse-mode autograd; linear, matmul, attention");
        AnsiConsole.MarkupLine("                           (padding, causal, grouped heads), rotary, layer/RMS norm, GELU, SiLU, softmax,");
        AnsiConsole.MarkupLine("                           cross-entropy, dropout, embedding, gather/scatter; SVD, QR, eigen, randomized SVD");
        AnsiConsole.MarkupLine("  models (EfficientFT.Models): RoBERTa and LLaMA from Hugging Face checkpoints, tokenizers, the HF cache");
        AnsiConsole.MarkupLine("  eft methods | train | merge        parameter-efficient fine-tuning (16 methods, λ, LoRA+, MPC)");
        AnsiConsole.MarkupLine("The GLUE benchmark grid and its report are being built on these (see README).");
    }

    private static CheckResult CheckGemm()
    {
        var rng = new Rng(1);
        const int m = 67, n = 45, k = 33;
        var worst = 0.0;
        foreach (var (ta, tb) in new[] { (false, false), (false, true), (true, false), (true, true) })
        {
            var a = new float[m * k];
            var b = new float[k * n];
            rng.FillUniform(a, -1, 1);
            rng.FillUniform(b, -1, 1);
            var expected = new float[m * n];
            var actual = new float[m * n];
            NaiveGemm.Instance.Multiply(ta, tb, m, n, k, 1f, a, ta ? m : k, b, tb ? k : n, 0f, expected, n);
            Gemm.Default.Multiply(ta, tb, m, n, k, 1f, a, ta ? m : k, b, tb ? k : n, 0f, actual, n);
            for (var i = 0; i < expected.Length; i++) worst = Math.Max(worst, Math.Abs(expected[i] - actual[i]));
        }
        return new CheckResult($"GEMM {Gemm.Default.Name} vs naive", worst < 1e-4, $"max |diff| {worst:G3} over 4 transpose cases, {m}×{n}×{k}");
    }

    private static CheckResult CheckSvd()
    {
        const int m = 40, n = 25;
        var a = new float[m * n];
        new Rng(5).FillUniform(a, -1, 1);
        var svd = LinearAlgebra.Svd(a, m, n);
        double error = 0, norm = 0;
        for (var i = 0; i < m; i++)
        for (var j = 0; j < n; j++)
        {
            double sum = 0;
            for (var r = 0; r < svd.Rank; r++) sum += (double)svd.U[i * svd.Rank + r] * svd.S[r] * svd.Vt[r * n + j];
            error += (sum - a[i * n + j]) * (sum - a[i * n + j]);
            norm += (double)a[i * n + j] * a[i * n + j];
        }
        var relative = Math.Sqrt(error / norm);
        return new CheckResult($"SVD ({LinearAlgebra.Backend.Name}) reconstructs", relative < 1e-5, $"‖A − U·S·Vᵀ‖/‖A‖ = {relative:G3}, {m}×{n}");
    }

    private static CheckResult CheckGradients()
    {
        var rng = new Rng(2);
        var x = Tensor.Uniform(rng, -1, 1, 2, 5, 8);
        var w = Tensor.Parameter(Tensor.Uniform(rng, -0.5f, 0.5f, 24, 8));
        var gamma = Tensor.Parameter(Tensor.Uniform(rng, 0.5f, 1.5f, 8));
        var beta = Tensor.Parameter(Tensor.Zeros(8));
        int[] targets = [1, 3, 0, 7, 2, -100, 5, 6, 4, 1];
        Tensor Loss()
        {
            var qkv = O.Linear(O.LayerNorm(x, gamma, beta, 1e-5f), w);
            var q = O.Slice(qkv, 2, 0, 8).Reshape(2, 5, 2, 4);
            var k = O.Slice(qkv, 2, 8, 8).Reshape(2, 5, 2, 4);
            var v = O.Slice(qkv, 2, 16, 8).Reshape(2, 5, 2, 4);
            var h = O.Gelu(O.Attention(q, k, v, causal: true)).Reshape(10, 8);
            return O.CrossEntropy(h, targets);
        }
        Loss().Backward();
        var analytic = w.Grad!.ToArray();
        var data = w.AsSpan();
        var worst = 0.0;
        const float step = 1e-2f;
        for (var i = 0; i < data.Length; i += 7)
        {
            var original = data[i];
            using var _ = GradMode.NoGrad();
            data[i] = original + step;
            var plus = Loss().Item();
            data[i] = original - step;
            var minus = Loss().Item();
            data[i] = original;
            worst = Math.Max(worst, Math.Abs((plus - minus) / (2 * step) - analytic[i]));
        }
        return new CheckResult("gradients vs finite differences", worst < 2e-3, $"max |diff| {worst:G3} (layer norm → linear → causal attention → GELU → cross-entropy)");
    }

    /// <summary>
    /// A one-layer attention classifier learns whether token 1 occurs in a random sequence: the loss must fall well
    /// below chance (ln 2).
    /// </summary>
    private static (float First, float Last, double Seconds) Train(ulong seed)
    {
        const int vocab = 8, dim = 16, seq = 8, batch = 32, steps = 150;
        var rng = new Rng(seed);
        var embedding = Tensor.Parameter(Tensor.Normal(rng, 0, 0.5f, vocab, dim));
        var wqkv = Tensor.Parameter(Tensor.Normal(rng, 0, 0.25f, 3 * dim, dim));
        var gamma = Tensor.Parameter(Tensor.Ones(dim));
        var beta = Tensor.Parameter(Tensor.Zeros(dim));
        var head = Tensor.Parameter(Tensor.Normal(rng, 0, 0.25f, 2, dim));
        Tensor[] parameters = [embedding, wqkv, gamma, beta, head];
        float first = 0, last = 0;
        var clock = Stopwatch.StartNew();
        for (var step = 0; step < steps; step++)
        {
            var ids = new int[batch * seq];
            var labels = new int[batch];
            for (var b = 0; b < batch; b++)
            {
                for (var t = 0; t < seq; t++) ids[b * seq + t] = 2 + rng.NextInt(vocab - 2);
                if (rng.NextDouble() < 0.5)
                {
                    ids[b * seq + rng.NextInt(seq)] = 1;
                    labels[b] = 1;
                }
            }
            var h = O.Embedding(embedding, ids, [batch, seq]);
            var qkv = O.Linear(h, wqkv);
            var q = O.Slice(qkv, 2, 0, dim).Reshape(batch, seq, 2, dim / 2);
            var k = O.Slice(qkv, 2, dim, dim).Reshape(batch, seq, 2, dim / 2);
            var v = O.Slice(qkv, 2, 2 * dim, dim).Reshape(batch, seq, 2, dim / 2);
            h = O.LayerNorm(h + O.Attention(q, k, v).Reshape(batch, seq, dim), gamma, beta, 1e-5f);
            var loss = O.CrossEntropy(O.Linear(O.Mean(h, [1]), head), labels);
            loss.Backward();
            foreach (var p in parameters)
            {
                TensorPrimitives.MultiplyAdd(p.Grad!.AsSpan(), -0.5f, p.AsSpan(), p.AsSpan());
                p.ZeroGrad();
            }
            if (step == 0) first = loss.Item();
            last = loss.Item();
        }
        return (first, last, clock.Elapsed.TotalSeconds);
    }

    private static CheckResult CheckTraining()
    {
        var (first, last, seconds) = Train(3);
        return new CheckResult("a tiny attention model learns", last < 0.35f,
            $"loss {first:F3} → {last:F3} in 150 SGD steps ({150 / seconds:F0} steps/s)");
    }

    private static CheckResult CheckDeterminism()
    {
        var a = Train(4).Last;
        var b = Train(4).Last;
        return new CheckResult("same seed, same bits", BitConverter.SingleToInt32Bits(a) == BitConverter.SingleToInt32Bits(b),
            $"final losses {a:R} and {b:R}");
    }
}
