using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Nodes;
using EfficientFT.Models.IO;
using EfficientFT.Models.Tokenizers;

namespace EfficientFT.Cli.Commands;

/// <summary>
/// `tokenize`: one {"text": …} per line in, one {"ids", "tokens", "decoded"} per line out; or, with --rows, the rows
/// eft train and eft forward read, as a Hugging Face user's dataset.map(tokenizer) makes them.
/// </summary>
public static class TokenizeCommand
{
    public static Command Create()
    {
        var tokenizer = new Option<string>("--tokenizer") { Description = "tokenizer.json, or a directory with tokenizer.json or (for a RoBERTa or GPT-2 tokenizer) vocab.json + merges.txt.", Required = true };
        var special = new Option<bool>("--add-special-tokens") { Description = "Add the post-processor's special tokens (<s> … </s>, [CLS] … [SEP]); --rows always adds them." };
        var input = new Option<string>("--input") { Description = "JSONL with one {\"text\": …} per line (and \"text_pair\" for --rows).", Required = true };
        var output = new Option<string>("--output") { Description = "JSONL to write, one {\"ids\", \"tokens\", \"decoded\"} per input line.", Required = true };
        var rows = new Option<bool>("--rows") { Description = "Write the rows eft train and eft forward read instead: {\"input_ids\", \"attention_mask\"} with the special tokens, and every other field of the line (\"label\") as it was; \"text_pair\" is the second sequence." };
        var maxLength = new Option<int?>("--max-length") { Description = "With --rows: truncate to this many tokens, special tokens included (the longer sequence of a pair first)." };
        var causalLm = new Option<bool>("--causal-lm") { Description = "With --rows: also write \"labels\" for a causal language model, the input ids (each token predicted from those before it). A line with \"prompt\" and \"response\" instead of \"text\" is their concatenation with the prompt's tokens labelled -100, left out of the loss; end the response with the tokenizer's end-of-sequence token (\"</s>\", \"<|end_of_text|>\") for the model to learn to stop." };
        var command = new Command("tokenize", "Tokenize texts with a Hugging Face tokenizer.") { tokenizer, special, input, output, rows, maxLength, causalLm };
        command.SetAction(r => CommandErrors.Run(() =>
        {
            if (r.GetValue(maxLength) is { } max && (!r.GetValue(rows) || max < 1))
                throw new ArgumentException(r.GetValue(rows) ? $"--max-length must be at least 1, got {max}." : "--max-length truncates the rows of --rows; add --rows.");
            if (r.GetValue(causalLm) && !r.GetValue(rows)) throw new ArgumentException("--causal-lm labels the rows of --rows; add --rows.");
            return r.GetValue(rows)
                ? RunRows(r.GetValue(tokenizer)!, r.GetValue(input)!, r.GetValue(output)!, r.GetValue(maxLength), r.GetValue(causalLm))
                : Run(r.GetValue(tokenizer)!, r.GetValue(special), r.GetValue(input)!, r.GetValue(output)!);
        }));
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
        const string saveTokenizerJson = "save a tokenizer.json with transformers (AutoTokenizer.from_pretrained(dir).save_pretrained(dir))";
        var options = kind?.ToLowerInvariant() switch
        {
            "robertatokenizer" or "robertatokenizerfast" or "roberta" => ByteLevelBpeOptions.Roberta(prefixSpace),
            "gpt2tokenizer" or "gpt2tokenizerfast" or "gpt2" => ByteLevelBpeOptions.Gpt2(prefixSpace),
            _ => throw new NotSupportedException(
                $"{directory}: vocab.json + merges.txt without tokenizer.json convert only for RoBERTa and GPT-2 tokenizers, and this one is {kind ?? "unnamed (no tokenizer_config.json or config.json says)"}; {saveTokenizerJson}."),
        };
        // Tokens added with tokenizer.add_tokens live beside vocab.json (added_tokens.json, or tokenizer_config.json's
        // added_tokens_decoder); without them the text they stand for would split into pieces and get other ids.
        IEnumerable<string> fromFile = (Read("added_tokens.json") as JsonObject)?.Select(p => p.Key) ?? [];
        IEnumerable<string> fromConfig = (settings?["added_tokens_decoder"] as JsonObject)?.Select(p => p.Value?["content"]?.GetValue<string>() ?? "") ?? [];
        var added = fromFile.Concat(fromConfig).Where(token => !options.SpecialTokens!.Contains(token)).Distinct().ToList();
        if (added.Count > 0)
            throw new NotSupportedException($"{directory}: holds added tokens ({string.Join(", ", added.Take(5))}) that vocab.json + merges.txt leave out; {saveTokenizerJson}.");
        return options;
    }

    /// <summary>The "text" of every line of a JSONL file; a bad line fails naming the file and line.</summary>
    public static List<string> ReadTexts(string path) => ReadLines(path).Select(l => l.Text).ToList();

    /// <summary>A line of the input: its text, and with "prompt" and "response" the prompt, the text being both.</summary>
    private sealed record TextLine(JsonObject Line, string Text, int Number, string? Prompt = null);

    /// <summary>
    /// Every line of a JSONL file with its "text", or with <paramref name="promptResponse"/> its "prompt" and
    /// "response" where it has them; a bad line fails naming the file and line.
    /// </summary>
    private static List<TextLine> ReadLines(string path, bool promptResponse = false)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: no such file.", path);
        var texts = new List<TextLine>();
        var lineNumber = 0;
        foreach (var line in File.ReadLines(path))
        {
            lineNumber++;
            if (string.IsNullOrWhiteSpace(line)) continue;
            try
            {
                var node = JsonNode.Parse(line) as JsonObject ?? throw new InvalidDataException("the line is not a JSON object");
                if (promptResponse && node.ContainsKey("prompt"))
                {
                    if (node.ContainsKey("text")) throw new InvalidDataException("it has both \"text\" and \"prompt\"; give one");
                    var prompt = node["prompt"]?.GetValue<string>() ?? throw new InvalidDataException("\"prompt\" is not a string");
                    var response = node["response"]?.GetValue<string>() ?? throw new InvalidDataException("it has \"prompt\" but no string \"response\"");
                    texts.Add(new TextLine(node, prompt + response, lineNumber, prompt));
                    continue;
                }
                texts.Add(new TextLine(node, node["text"]?.GetValue<string>() ?? throw new InvalidDataException(
                    promptResponse ? "it has no string \"text\" (or \"prompt\" and \"response\")" : "it has no string \"text\""), lineNumber));
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

    /// <summary>
    /// Rows for training: the line's text (and text_pair) encoded with the special tokens and truncated to
    /// <paramref name="maxLength"/>, as tokenizer(text, text_pair, truncation=True, max_length=N); the line's other
    /// fields carried over, so its label stays with it. With <paramref name="causalLm"/>, "labels" are the ids, as
    /// transformers' DataCollatorForLanguageModeling(mlm=False) makes them for rows without padding (an end-of-sequence
    /// token that is also the pad token stays a target), and a prompt's tokens are −100.
    /// </summary>
    private static int RunRows(string tokenizerPath, string inputPath, string outputPath, int? maxLength, bool causalLm)
    {
        var tokenizer = Load(tokenizerPath);
        var unlearned = new List<int>();
        var lines = ReadLines(inputPath, promptResponse: causalLm).Select(line =>
        {
            string? pair;
            try
            {
                pair = line.Line["text_pair"]?.GetValue<string>();
            }
            catch (Exception e) when (e is InvalidOperationException or FormatException)
            {
                throw new InvalidDataException($"{inputPath}:{line.Number}: \"text_pair\" is not a string.", e);
            }
            if (causalLm && pair != null)
                throw new InvalidDataException($"{inputPath}:{line.Number}: \"text_pair\" makes a pair of sequences, which a causal language model does not read; give \"text\", or \"prompt\" and \"response\".");
            Encoding encoding;
            IReadOnlyList<int>? promptIds;
            try
            {
                encoding = tokenizer.EncodeBatch([(line.Text, pair)], maxLength, padding: PaddingStrategy.None).Encodings[0];
                promptIds = causalLm && line.Prompt != null ? tokenizer.EncodeBatch([(line.Prompt, null)], null, padding: PaddingStrategy.None).Encodings[0].Ids : null;
            }
            catch (ArgumentException e)
            {
                throw new InvalidDataException($"{inputPath}:{line.Number}: {e.Message}", e);
            }
            var row = new JsonObject
            {
                ["input_ids"] = new JsonArray(encoding.Ids.Select(i => (JsonNode?)i).ToArray()),
                ["attention_mask"] = new JsonArray(encoding.AttentionMask.Select(m => (JsonNode?)m).ToArray()),
            };
            if (causalLm)
            {
                // The prompt's share is where its own encoding and the whole line's agree: a template that ends every
                // sequence with a token, or a merge across the join, then costs the prompt, not the response.
                var prompted = promptIds == null ? 0 : CommonPrefix(promptIds, encoding.Ids);
                if (prompted >= encoding.Ids.Length) unlearned.Add(line.Number);
                row["labels"] = new JsonArray(encoding.Ids.Select((id, i) => (JsonNode?)(i < prompted ? -100 : id)).ToArray());
            }
            foreach (var (key, value) in line.Line)
                if (key is not ("text" or "text_pair" or "input_ids" or "attention_mask") && !(causalLm && key is "prompt" or "response" or "labels"))
                    row[key] = value?.DeepClone();
            return row.ToJsonString();
        }).ToList();
        AtomicFile.WriteAllLines(outputPath, lines);
        // Such a row trains nothing: its response was cut off (or empty), and every label is −100.
        if (unlearned.Count > 0)
            Console.Error.WriteLine($"eft: note: {unlearned.Count} row(s) keep no token of their response{(maxLength != null ? " within --max-length" : "")}, so nothing of them is learned: {inputPath} lines {string.Join(", ", unlearned.Take(10))}{(unlearned.Count > 10 ? ", …" : "")}.");
        Console.WriteLine($"tokenized {lines.Count} rows{(maxLength is { } m ? $" (at most {m} tokens)" : "")} → {outputPath}");
        return 0;
    }

    private static int CommonPrefix(IReadOnlyList<int> a, IReadOnlyList<int> b)
    {
        var n = 0;
        while (n < a.Count && n < b.Count && a[n] == b[n]) n++;
        return n;
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
