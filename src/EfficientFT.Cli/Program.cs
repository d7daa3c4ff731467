using System.CommandLine;
using EfficientFT.Cli.Commands;

var root = new RootCommand("EfficientFT: parameter-efficient fine-tuning and benchmarking of transformers.");
root.Subcommands.Add(SelfCheckCommand.Create());
root.Subcommands.Add(InspectCommand.Create());
root.Subcommands.Add(ForwardCommand.Create());
return root.Parse(args).Invoke();
