using System.CommandLine;
using EfficientFT.Models.Tokenizers;

namespace EfficientFT.Cli.Commands;

/// <summary>`perf tokenizer`: single-thread encoding throughput on a JSONL of texts.</summary>
public static class PerfTokenizerCommand
{
    public static Command Create()
    {
        var tokenizer = new Option<string>("--tokenizer") { Description = "tokenizer.json or a directory holding one.", Required = true };
        var input = new Option<string>("--input") { Description = "JSONL with one {\"text\": …} per line.", Required = true };
        var seconds = new Option<double>("--seconds") { Description = "Minimum measured time.", DefaultValueFactory = _ => 3 };
        var command = new Command("tokenizer", "Tokens per second and MB per second of encoding, one thread.") { tokenizer, input, seconds };
        command.SetAction(r => CommandErrors.Run(() =>
        {
            var tok = TokenizeCommand.Load(r.GetValue(tokenizer)!);
            var texts = TokenizeCommand.ReadTexts(r.GetValue(input)!);
            if (texts.Count == 0) throw new InvalidDataException($"{r.GetValue(input)}: no texts.");
            var result = TokenizerBenchmark.Measure(tok, texts, TimeSpan.FromSeconds(r.GetValue(seconds)));
            Console.WriteLine($"{result.TokensPerSecond / 1e6:F2} M tokens/s, {result.MegabytesPerSecond:F1} MB/s of UTF-8 input ({texts.Count} texts, one thread, after a warm-up pass)");
            return 0;
        }));
        return command;
    }
}
