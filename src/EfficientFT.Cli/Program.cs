using System.CommandLine;

var root = new RootCommand("EfficientFT: parameter-efficient fine-tuning and benchmarking of transformers.");
return root.Parse(args).Invoke();
