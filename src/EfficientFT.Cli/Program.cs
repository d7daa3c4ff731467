using System.CommandLine;
using EfficientFT.Cli.Commands;

var root = new RootCommand("EfficientFT: parameter-efficient fine-tuning and benchmarking of transformers.");
root.Subcommands.Add(SelfCheckCommand.Create());
return root.Parse(args).Invoke();
