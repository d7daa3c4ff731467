using System.Text.Json.Nodes;
using EfficientFT.Models;
using EfficientFT.Models.Configs;
using EfficientFT.Tensors;

namespace EfficientFT.Bench.Tests;

/// <summary>
/// A benchmark setting small enough for tests: a 1-layer RoBERTa (hidden 16) with random weights and a word-level
/// tokenizer, and a two-class task ("toy": sentences with "good"/"great" are positive) in the embedded-task layout.
/// </summary>
public static class TinyBench
{
    private static readonly string[] Positive = ["good", "great", "fine", "nice"];
    private static readonly string[] Negative = ["bad", "awful", "poor", "sad"];
    private static readonly string[] Filler = ["the", "a", "film", "was", "very", "and", "it", "day", "food", "movie"];

    public static IEnumerable<string> Words => Positive.Concat(Negative).Concat(Filler).Concat(["is", "not", "same", "different"]);

    /// <summary>Writes ASSETS/model (config.json, model.safetensors, tokenizer.json) and ASSETS/tasks/toy; returns ASSETS.</summary>
    public static string CreateAssets(string root)
    {
        var assets = Path.Combine(root, "assets");
        WriteModel(Path.Combine(assets, "model"));
        WriteTask(Path.Combine(assets, "tasks", "toy"), 48, 24);
        return assets;
    }

    public static void WriteModel(string dir)
    {
        var vocab = new JsonObject { ["<s>"] = 0, ["<pad>"] = 1, ["</s>"] = 2, ["<unk>"] = 3 };
        foreach (var word in Words) vocab[word] = vocab.Count;
        var config = new RobertaConfig
        {
            ModelType = "roberta", Architectures = ["RobertaForMaskedLM"], VocabSize = vocab.Count, HiddenSize = 16,
            NumHiddenLayers = 1, NumAttentionHeads = 2, IntermediateSize = 32, HiddenAct = "gelu", MaxPositionEmbeddings = 130,
            PadTokenId = 1, BosTokenId = 0, EosTokenIds = [2], TypeVocabSize = 1, HiddenDropoutProb = 0, AttentionProbsDropoutProb = 0,
            TieWordEmbeddings = true,
        };
        var model = Pretrained.Create(config, "RobertaForMaskedLM");
        var rng = new Rng(7);
        foreach (var (_, tensor) in model.NamedTensors())
            if (tensor.Rank == 2) rng.FillNormal(tensor.AsSpan(), 0f, 0.2f);
        Pretrained.Save(model, dir);
        var special = new JsonArray();
        foreach (var (token, id) in new[] { ("<s>", 0), ("<pad>", 1), ("</s>", 2), ("<unk>", 3) })
            special.Add(new JsonObject
            {
                ["id"] = id, ["content"] = token, ["single_word"] = false, ["lstrip"] = false, ["rstrip"] = false,
                ["normalized"] = false, ["special"] = true,
            });
        var tokenizer = new JsonObject
        {
            ["version"] = "1.0",
            ["added_tokens"] = special,
            ["normalizer"] = null,
            ["pre_tokenizer"] = new JsonObject { ["type"] = "Whitespace" },
            ["post_processor"] = new JsonObject
            {
                ["type"] = "RobertaProcessing", ["sep"] = new JsonArray("</s>", 2), ["cls"] = new JsonArray("<s>", 0),
                ["trim_offsets"] = true, ["add_prefix_space"] = false,
            },
            ["decoder"] = null,
            ["padding"] = new JsonObject { ["pad_id"] = 1, ["pad_token"] = "<pad>", ["direction"] = "Right", ["strategy"] = "BatchLongest" },
            ["model"] = new JsonObject { ["type"] = "WordLevel", ["vocab"] = vocab, ["unk_token"] = "<unk>" },
        };
        File.WriteAllText(Path.Combine(dir, "tokenizer.json"), tokenizer.ToJsonString());
    }

    /// <summary>A custom task directory: task.json, train.jsonl and validation.jsonl with label names, as the embedded tasks are.</summary>
    public static void WriteTask(string dir, int train, int validation)
    {
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "task.json"), """
            { "name": "toy", "text_columns": ["text"], "label_column": "label", "label_names": ["negative", "positive"],
              "metrics": ["accuracy", "f1"], "headline": "accuracy" }
            """);
        File.WriteAllLines(Path.Combine(dir, "train.jsonl"), Sentences(train, 1).Select(Line));
        File.WriteAllLines(Path.Combine(dir, "validation.jsonl"), Sentences(validation, 2).Select(Line));
        static string Line((string Text, bool Positive) e) => new JsonObject { ["text"] = e.Text, ["label"] = e.Positive ? "positive" : "negative" }.ToJsonString();
    }

    /// <summary>Sentences of 3 to 14 words, so batches need padding and trimming matters.</summary>
    public static IEnumerable<(string Text, bool Positive)> Sentences(int count, int seed)
    {
        var random = new Random(seed);
        for (var i = 0; i < count; i++)
        {
            var positive = i % 2 == 0;
            var words = Enumerable.Range(0, random.Next(2, 14)).Select(_ => Filler[random.Next(Filler.Length)]).ToList();
            var sentiment = positive ? Positive : Negative;
            words.Insert(random.Next(words.Count + 1), sentiment[random.Next(sentiment.Length)]);
            yield return (string.Join(' ', words), positive);
        }
    }

    /// <summary>A GLUE directory with RTE (pairs, text labels) and STS-B (regression) train and dev TSVs of a few rows.</summary>
    public static string CreateGlue(string root)
    {
        var glue = Path.Combine(root, "glue");
        var rte = Directory.CreateDirectory(Path.Combine(glue, "RTE")).FullName;
        var stsb = Directory.CreateDirectory(Path.Combine(glue, "STS-B")).FullName;
        var random = new Random(3);
        string Sentence() => string.Join(' ', Enumerable.Range(0, random.Next(3, 9)).Select(_ => Filler[random.Next(Filler.Length)]));
        foreach (var (file, rows) in new[] { ("train.tsv", 16), ("dev.tsv", 8) })
        {
            File.WriteAllLines(Path.Combine(rte, file), Enumerable.Range(0, rows)
                .Select(i => $"{i}\t{Sentence()}\t{Sentence()} is {(i % 2 == 0 ? "same" : "different")}\t{(i % 2 == 0 ? "entailment" : "not_entailment")}")
                .Prepend("index\tsentence1\tsentence2\tlabel"));
            File.WriteAllLines(Path.Combine(stsb, file), Enumerable.Range(0, rows)
                .Select(i => $"{i}\tmain-captions\tMSRvid\t2012test\t{i:0000}\t{Sentence()}\t{Sentence()}\t{i % 6}.0")
                .Prepend("index\tgenre\tfilename\tyear\told_index\tsentence1\tsentence2\tscore"));
        }
        return glue;
    }
}
