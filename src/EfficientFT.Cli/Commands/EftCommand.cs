using System.CommandLine;

namespace EfficientFT.Cli.Commands;

/// <summary>The root `eft` command with every subcommand (tests invoke it in-process).</summary>
public static class EftCommand
{
    public static RootCommand Create()
    {
        var root = new RootCommand("EfficientFT: parameter-efficient fine-tuning and benchmarking of transformers.");
        root.Subcommands.Add(SelfCheckCommand.Create());
        root.Subcommands.Add(InspectCommand.Create());
        root.Subcommands.Add(ForwardCommand.Create());
        root.Subcommands.Add(MergeCommand.Create());
        root.Subcommands.Add(TrainCommand.Create());
        root.Subcommands.Add(PretrainCommand.Create());
        root.Subcommands.Add(MethodsCommand.Create());
        root.Subcommands.Add(TokenizeCommand.Create());
        root.Subcommands.Add(DownloadCommand.Create());
        root.Subcommands.Add(BenchCommand.Create());
        root.Subcommands.Add(ReportCommand.Create());
        var perf = new Command("perf", "Benchmarks that print figures (matrix products, tokenizer throughput).");
        perf.Subcommands.Add(PerfGemmCommand.Create());
        perf.Subcommands.Add(PerfTokenizerCommand.Create());
        perf.Subcommands.Add(PerfSafeTensorsCommand.Create());
        perf.Subcommands.Add(PerfTrainCommand.Create());
        root.Subcommands.Add(perf);
        return root;
    }
}
