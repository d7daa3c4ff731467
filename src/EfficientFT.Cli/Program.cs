using EfficientFT.Cli.Commands;

return EftCommand.Create().Parse(args).Invoke();
