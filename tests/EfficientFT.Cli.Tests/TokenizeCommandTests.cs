using EfficientFT.Cli.Commands;

namespace EfficientFT.Cli.Tests;

/// <summary>A directory with vocab.json + merges.txt and no tokenizer.json gets what its tokenizer class adds.</summary>
[Collection("console")]
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

    /// <summary>
    /// --rows gives what eft train reads: Hugging Face's ids with the special tokens (the golden records), the line's
    /// label beside them, and with --max-length the text cut so that [CLS] … [SEP] fits. Mistral's tokenizer has no
    /// pad token, which one row at a time never needs.
    /// </summary>
    [Theory]
    [InlineData("bert", null)]
    [InlineData("bert", 6)]
    [InlineData("mistral", 6)]
    public void Rows_AreTheGoldenIdsWithTheLabel(string tokenizer, int? maxLength)
    {
        var fixtures = Path.Combine(AppContext.BaseDirectory, "fixtures", "tokenizers");
        var golden = File.ReadLines(Path.Combine(fixtures, $"{tokenizer}.jsonl")).Select(l => System.Text.Json.Nodes.JsonNode.Parse(l)!)
            .Where(r => r["add_special_tokens"]!.GetValue<bool>()).Take(20).ToList();
        var input = Path.Combine(_dir, "texts.jsonl");
        File.WriteAllLines(input, golden.Select((r, i) => new System.Text.Json.Nodes.JsonObject { ["text"] = r["text"]!.GetValue<string>(), ["label"] = i % 3 }.ToJsonString()));
        var output = Path.Combine(_dir, "rows.jsonl");

        var code = EftCommand.Create().Parse(["tokenize", "--tokenizer", Path.Combine(fixtures, tokenizer, "tokenizer.json"), "--input", input,
            "--output", output, "--rows", .. maxLength is { } m ? new[] { "--max-length", m.ToString() } : []]).Invoke();

        Assert.Equal(0, code);
        var rows = File.ReadLines(output).Select(l => System.Text.Json.Nodes.JsonNode.Parse(l)!).ToList();
        Assert.Equal(golden.Count, rows.Count);
        var plain = File.ReadLines(Path.Combine(fixtures, $"{tokenizer}.jsonl")).Select(l => System.Text.Json.Nodes.JsonNode.Parse(l)!)
            .Where(r => !r["add_special_tokens"]!.GetValue<bool>()).ToDictionary(r => r["name"]!.GetValue<string>(), r => r["ids"]!.AsArray().Select(n => n!.GetValue<int>()).ToList());
        for (var i = 0; i < rows.Count; i++)
        {
            var ids = golden[i]["ids"]!.AsArray().Select(n => n!.GetValue<int>()).ToList();
            if (maxLength is { } max && ids.Count > max)
            {
                // Truncation cuts the text, never the special tokens around it: [CLS] text [SEP], or <s> text.
                var content = plain[golden[i]["name"]!.GetValue<string>()];
                var before = Enumerable.Range(0, ids.Count - content.Count + 1).First(p => ids.Skip(p).Take(content.Count).SequenceEqual(content));
                ids = [.. ids.Take(before), .. content.Take(max - (ids.Count - content.Count)), .. ids.Skip(before + content.Count)];
            }
            Assert.Equal(ids, rows[i]["input_ids"]!.AsArray().Select(n => n!.GetValue<int>()));
            Assert.Equal(Enumerable.Repeat(1, ids.Count), rows[i]["attention_mask"]!.AsArray().Select(n => n!.GetValue<int>()));
            Assert.Equal(i % 3, rows[i]["label"]!.GetValue<int>());
            Assert.Null(rows[i]["text"]);
        }
    }

    /// <summary>
    /// --causal-lm labels each row with its ids (Hugging Face's golden ids for Mistral, &lt;s&gt; included); a prompt and
    /// response make one sequence whose prompt tokens (&lt;s&gt; ▁Hello) are −100. A pair of texts, or --causal-lm without
    /// --rows, is refused.
    /// </summary>
    [Fact]
    public void CausalLmRows_AreLabelledWithTheirIds_ThePromptLeftOut()
    {
        var tokenizer = Path.Combine(AppContext.BaseDirectory, "fixtures", "tokenizers", "mistral", "tokenizer.json");
        var input = Path.Combine(_dir, "texts.jsonl");
        File.WriteAllLines(input, ["""{"text": "Hello world", "source": "a"}""", """{"prompt": "Hello", "response": " world"}"""]);
        var output = Path.Combine(_dir, "rows.jsonl");
        var (code, error) = Tokenize("--tokenizer", tokenizer, "--input", input, "--output", output, "--rows", "--causal-lm");
        Assert.True(code == 0, error);
        var rows = File.ReadLines(output).Select(l => System.Text.Json.Nodes.JsonNode.Parse(l)!).ToList();
        int[] Ints(System.Text.Json.Nodes.JsonNode row, string key) => row[key]!.AsArray().Select(n => n!.GetValue<int>()).ToArray();
        Assert.Equal([1, 22557, 1526], Ints(rows[0], "input_ids"));
        Assert.Equal([1, 22557, 1526], Ints(rows[0], "labels"));
        Assert.Equal("a", rows[0]["source"]!.GetValue<string>());
        Assert.Equal([1, 22557, 1526], Ints(rows[1], "input_ids"));
        Assert.Equal([-100, -100, 1526], Ints(rows[1], "labels"));
        Assert.Null(rows[1]["prompt"]);

        // A response cut off by --max-length leaves the row nothing to learn, which is said, naming the line.
        (code, error) = Tokenize("--tokenizer", tokenizer, "--input", input, "--output", output, "--rows", "--causal-lm", "--max-length", "2");
        Assert.True(code == 0, error);
        Assert.Contains($"1 row(s) keep no token of their response within --max-length, so nothing of them is learned: {input} lines 2", error);

        File.WriteAllLines(input, ["""{"text": "Hello", "text_pair": "world"}"""]);
        (code, error) = Tokenize("--tokenizer", tokenizer, "--input", input, "--output", Path.Combine(_dir, "pair.jsonl"), "--rows", "--causal-lm");
        Assert.Equal(2, code);
        Assert.Contains($"{input}:1: \"text_pair\" makes a pair of sequences", error);
        (code, error) = Tokenize("--tokenizer", tokenizer, "--input", input, "--output", Path.Combine(_dir, "plain.jsonl"), "--causal-lm");
        Assert.Equal(2, code);
        Assert.Contains("--causal-lm labels the rows of --rows", error);
    }

    private static (int Code, string Error) Tokenize(params string[] args)
    {
        using var error = new ErrorCapture();
        return (EftCommand.Create().Parse(["tokenize", .. args]).Invoke(), error.ToString());
    }

    /// <summary>
    /// Tokens added after training sit outside vocab.json and merges.txt; loaded without them, their text would split
    /// into pieces with other ids. The class's own special tokens listed there are no such tokens.
    /// </summary>
    [Theory]
    [InlineData("added_tokens.json", """{"<new>": 5}""", true)]
    [InlineData("tokenizer_config.json", """{"tokenizer_class": "RobertaTokenizer", "added_tokens_decoder": {"5": {"content": "<new>", "special": false}}}""", true)]
    [InlineData("tokenizer_config.json", """{"tokenizer_class": "RobertaTokenizer", "added_tokens_decoder": {"5": {"content": "<mask>", "special": true}}}""", false)]
    public void AddedTokens_AreRefusedNotDropped(string file, string content, bool refused)
    {
        if (file != "tokenizer_config.json") File.WriteAllText(Path.Combine(_dir, "tokenizer_config.json"), """{"tokenizer_class": "RobertaTokenizer"}""");
        File.WriteAllText(Path.Combine(_dir, file), content);
        if (!refused)
        {
            Assert.Equal(["<s>", "hi", "</s>"], TokenizeCommand.Load(_dir).Encode("hi").Tokens);
            return;
        }
        var e = Assert.Throws<NotSupportedException>(() => TokenizeCommand.Load(_dir));
        Assert.Contains("<new>", e.Message);
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
