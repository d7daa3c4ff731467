using System.Collections.Concurrent;
using System.Text.Json;
using EfficientFT.Models.Tokenizers;

namespace EfficientFT.Models.Tests.Tokenizers;

/// <summary>The golden tokenizers and records under fixtures/tokenizers, each loaded once per test run.</summary>
internal static class TokenizerFixtures
{
    public static readonly string[] Names = ["gpt2", "bert", "mistral"];

    private static readonly ConcurrentDictionary<string, Lazy<Tokenizer>> Tokenizers = new();
    private static readonly ConcurrentDictionary<string, Lazy<GoldenRecord[]>> Records = new();

    public static string Directory => Path.Combine(AppContext.BaseDirectory, "fixtures", "tokenizers");

    public static Tokenizer Tokenizer(string name) => Tokenizers.GetOrAdd(name,
        n => new Lazy<Tokenizer>(() => EfficientFT.Models.Tokenizers.Tokenizer.FromFile(
            Path.Combine(Directory, n, "tokenizer.json")))).Value;

    public static GoldenRecord[] GoldenRecords(string name) => Records.GetOrAdd(name,
        n => new Lazy<GoldenRecord[]>(() => File.ReadLines(Path.Combine(Directory, n + ".jsonl"))
            .Where(line => line.Length > 0)
            .Select(line => JsonSerializer.Deserialize<GoldenRecord>(line)!)
            .ToArray())).Value;
}
