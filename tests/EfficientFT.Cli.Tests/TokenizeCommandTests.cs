using EfficientFT.Cli.Commands;

namespace EfficientFT.Cli.Tests;

/// <summary>A directory with vocab.json + merges.txt and no tokenizer.json gets what its tokenizer class adds.</summary>
public sealed class TokenizeCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("eft-tokenize-").FullName;

    public TokenizeCommandTests()
    {
        File.WriteAllText(Path.Combine(_dir, "vocab.json"), """{"h": 0, "i": 1, "hi": 2, "Ġ": 3, "Ġhi": 4}""");
        File.WriteAllText(Path.Combine(_dir, "merges.txt"), "#version: 0.2\nh i\nĠ hi\n");
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Theory]
    [InlineData("tokenizer_config.json", """{"tokenizer_class": "RobertaTokenizer"}""", "<mask>", new[] { "<s>", "hi", "Ġhi", "</s>" })]
    [InlineData("config.json", """{"model_type": "roberta"}""", "<mask>", new[] { "<s>", "hi", "Ġhi", "</s>" })]
    [InlineData("tokenizer_config.json", """{"tokenizer_class": "GPT2Tokenizer"}""", "<|endoftext|>", new[] { "hi", "Ġhi" })]
    public void TheTokenizerClass_DecidesTheSpecialTokens(string file, string content, string special, string[] expected)
    {
        File.WriteAllText(Path.Combine(_dir, file), content);
        var tokenizer = TokenizeCommand.Load(_dir);
        Assert.Equal(expected, tokenizer.Encode("hi hi").Tokens);
        Assert.Equal(["hi", special], tokenizer.Encode("hi" + special, addSpecialTokens: false).Tokens);
    }

    [Fact]
    public void AnotherTokenizerClass_IsRefusedNamingIt()
    {
        File.WriteAllText(Path.Combine(_dir, "tokenizer_config.json"), """{"tokenizer_class": "BartTokenizer"}""");
        var e = Assert.Throws<NotSupportedException>(() => TokenizeCommand.Load(_dir));
        Assert.Contains("BartTokenizer", e.Message);
        Assert.Contains(_dir, e.Message);
    }
}
