using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Nodes;
using EfficientFT.Models.IO;
using EfficientFT.Models.Tokenizers;

namespace EfficientFT.Cli.Commands;

/// <summary>`tokenize`: one {"text": …} per line in, one {"ids", "tokens", "decoded"} per line out.</summary>
public static class TokenizeCommand
{
    public static Command Create()
    {
        var tokenizer = new Option<string>("--tokenizer") { Description = "tokenizer.json, or a directory with tokenizer.json or (for a RoBERTa or GPT-2 tokenizer) vocab.json + merges.txt.", Required = true };
        var special = new Option<bool>("--add-special-tokens") { Description = "Add the post-processor's special tokens (<s> … </s>, [CLS] … [SEP])." };
        var input = new Option<string>("--input") { Description = "JSONL with one {\"text\": …} per line.", Required = true };
        var output = new Option<string>("--output") { Description = "JSONL to write, one {\"ids\", \"tokens\", \"decoded\"} per input line.", Required = true };
        var command = new Command("tokenize", "Tokenize texts with a Hugging Face tokenizer.") { tokenizer, special, input, output };
        command.SetAction(r => CommandErrors.Run(() =>
            Run(r.GetValue(tokenizer)!, r.GetValue(special), r.GetValue(input)!, r.GetValue(output)!)));
        return command;
    }

    /// <summary>
    /// A tokenizer from a tokenizer.json file, or from a directory holding one, or a RoBERTa or GPT-2 tokenizer's
    /// vocab.json + merges.txt (see <see cref="SlowTokenizerOptions"/>).
    /// </summary>
    public static Tokenizer Load(string path)
    {
        if (File.Exists(path)) return Tokenizer.FromFile(path);
        if (!Directory.Exists(path)) throw new FileNotFoundException($"{path}: no such tokenizer file or directory.", path);
        var json = Path.Combine(path, "tokenizer.json");
        if (File.Exists(json)) return Tokenizer.FromFile(json);
        var vocab = Path.Combine(path, "vocab.json");
        var merges = Path.Combine(path, "merges.txt");
        if (File.Exists(vocab) && File.Exists(merges)) return Tokenizer.FromVocabAndMerges(vocab, merges, SlowTokenizerOptions(path));
        throw new FileNotFoundException($"{path}: has neither tokenizer.json nor vocab.json + merges.txt.", json);
    }

    /// <summary>
    /// What vocab.json + merges.txt leave out, as transformers rebuilds it for the tokenizer class the directory names
    /// (tokenizer_config.json's tokenizer_class, else config.json's model_type): RoBERTa's special tokens and template,
    /// or GPT-2's end-of-text token. Another class is refused rather than guessed, as its ids would be wrong.
    /// </summary>
    private static ByteLevelBpeOptions SlowTokenizerOptions(string directory)
    {
        JsonNode? Read(string name)
        {
            var file = Path.Combine(directory, name);
            try
            {
                return File.Exists(file) ? JsonNode.Parse(File.ReadAllText(file)) : null;
            }
            catch (JsonException e)
            {
                throw new InvalidDataException($"{file}: not valid JSON ({e.Message}).", e);
            }
        }
        var settings = Read("tokenizer_config.json");
        var kind = settings?["tokenizer_class"]?.GetValue<string>() ?? Read("config.json")?["model_type"]?.GetValue<string>();
        var prefixSpace = settings?["add_prefix_space"]?.GetValue<bool>() ?? false;
        return kind?.ToLowerInvariant() switch
        {
            "robertatokenizer" or "robertatokenizerfast" or "roberta" => ByteLevelBpeOptions.Roberta(prefixSpace),
            "gpt2tokenizer" or "gpt2tokenizerfast" or "gpt2" => ByteLevelBpeOptions.Gpt2(prefixSpace),
            _ => throw new NotSupportedException(
                $"{directory}: vocab.json + merges.txt without tokenizer.json convert only for RoBERTa and GPT-2 tokenizers, and this one is {kind ?? "unnamed (no tokenizer_config.json or config.json says)"}; save a tokenizer.json with transformers (AutoTokenizer.from_pretrained(dir).save_pretrained(dir))."),
        };
    }

    /// <summary>The "text" of every line of a JSONL file; a bad line fails naming the file and line.</summary>
    public static List<string> ReadTexts(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: no such file.", path);
        var texts = new List<string>();
        var lineNumber = 0;
        foreach (var line in File.ReadLines(path))
        {
            lineNumber++;
            if (string.IsNullOrWhiteSpace(line)) continue;
            try
            {
                var node = JsonNode.Parse(line) as JsonObject ?? throw new InvalidDataException("the line is not a JSON object");
                texts.Add(node["text"]?.GetValue<string>() ?? throw new InvalidDataException("it has no string \"text\""));
            }
            catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException)
            {
                throw new InvalidDataException($"{path}:{lineNumber}: {e.Message}", e);
            }
            catch (InvalidDataException e)
            {
                throw new InvalidDataException($"{path}:{lineNumber}: {e.Message}", e);
            }
        }
        return texts;
    }

    private static int Run(string tokenizerPath, bool addSpecial, string inputPath, string outputPath)
    {
        var tokenizer = Load(tokenizerPath);
        var texts = ReadTexts(inputPath);
        var lines = texts.Select(text =>
        {
            var encoding = tokenizer.Encode(text, addSpecial);
            return new JsonObject
            {
                ["ids"] = new JsonArray(encoding.Ids.Select(i => (JsonNode?)i).ToArray()),
                ["tokens"] = new JsonArray(encoding.Tokens.Select(t => (JsonNode?)t).ToArray()),
                ["decoded"] = tokenizer.Decode(encoding.Ids),
            }.ToJsonString();
        }).ToList();
        AtomicFile.WriteAllLines(outputPath, lines);
        Console.WriteLine($"tokenized {texts.Count} texts → {outputPath}");
        return 0;
    }
}
