using System.Text.Json.Nodes;
using EfficientFT.Cli.Commands;
using EfficientFT.Models;
using EfficientFT.Models.Configs;
using EfficientFT.Models.Tokenizers;

namespace EfficientFT.Cli.Tests;

/// <summary>`eft pretrain` on a tiny model and corpus: it learns, its output loads back, and bad input leaves nothing.</summary>
[Collection("console")]
public sealed class PretrainCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("eft-pretrain-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static int Eft(params string[] args) => EftCommand.Create().Parse(args).Invoke();

    /// <summary>
    /// Short English sentences from a small grammar: few enough word types that a ~300-token vocabulary covers them
    /// and a two-layer model learns their statistics within a few dozen steps.
    /// </summary>
    private string WriteCorpus(int documents = 400)
    {
        string[] subjects = ["the cat", "a dog", "my friend", "the old man", "a small bird", "the teacher"];
        string[] verbs = ["sees", "likes", "follows", "watches", "finds", "helps"];
        string[] objects = ["the red ball", "a green tree", "the big house", "a quiet river", "the black car", "a warm fire"];
        string[] endings = ["in the morning.", "at night.", "every day.", "after school.", "near the park.", "with joy."];
        var random = new Random(3);
        string Pick(string[] words) => words[random.Next(words.Length)];
        var lines = Enumerable.Range(0, documents).Select(_ => string.Join(' ', Enumerable.Range(0, random.Next(1, 4))
            .Select(_ => $"{Pick(subjects)} {Pick(verbs)} {Pick(objects)} {Pick(endings)}")));
        var path = Path.Combine(_dir, "corpus.txt");
        File.WriteAllLines(path, lines);
        return path;
    }

    /// <summary>Arguments for the tiny run; <paramref name="changes"/> (option, value pairs) replace or add options.</summary>
    private static string[] TinyModel(string corpus, string output, params string[] changes)
    {
        var options = new Dictionary<string, string>
        {
            ["--corpus"] = corpus, ["--output"] = output, ["--vocab-size"] = "300", ["--layers"] = "2", ["--hidden"] = "32",
            ["--heads"] = "2", ["--intermediate"] = "64", ["--max-length"] = "32", ["--steps"] = "100", ["--batch-size"] = "16",
            ["--lr"] = "5e-3", ["--warmup-steps"] = "5", ["--holdout"] = "0.1", ["--dupe-factor"] = "2", ["--seed"] = "1",
        };
        for (var i = 0; i < changes.Length; i += 2)
            options[changes[i]] = changes[i + 1];
        return ["pretrain", .. options.SelectMany(kv => new[] { kv.Key, kv.Value })];
    }

    [Fact]
    public void Pretrain_TinyModel_LearnsAndLoadsBack()
    {
        var output = Path.Combine(_dir, "model");
        Assert.Equal(0, Eft(TinyModel(WriteCorpus(), output, "--dtype", "f16")));

        var recipe = JsonNode.Parse(File.ReadAllText(Path.Combine(output, "pretrain_recipe.json")))!;
        var initial = recipe["result"]!["initial_heldout_loss"]!.GetValue<double>();
        var final = recipe["result"]!["final_heldout_loss"]!.GetValue<double>();
        // At initialisation the logits are nearly equal, so the loss is about ln V (uniform guessing over 300 tokens);
        // the grammar's few word types are far more predictable than that: 1.5 nats lower is a perplexity 4.5 times smaller.
        Assert.True(Math.Abs(initial - Math.Log(300)) < 0.1, $"initial held-out loss {initial}, ln 300 = {Math.Log(300)}");
        Assert.True(final < Math.Log(300) - 1.5, $"held-out loss {initial} → {final}");
        Assert.Equal(100, File.ReadAllLines(Path.Combine(output, "pretrain_log.jsonl")).Count(l => JsonNode.Parse(l)!["loss"] != null));
        Assert.Equal(64, recipe["corpus"]![0]!["sha256"]!.GetValue<string>().Length);
        Assert.False(Directory.Exists(output + ".partial"));

        var config = (RobertaConfig)ModelConfig.Load(Path.Combine(output, "config.json"));
        Assert.Equal((300, 34, 1, 0, 1), (config.VocabSize, config.MaxPositionEmbeddings, config.PadTokenId, config.BosTokenId, config.TypeVocabSize));
        var tokenizer = Tokenizer.FromFile(Path.Combine(output, "tokenizer.json"));
        Assert.Equal(299, tokenizer.MaskTokenId);
        var (classifier, report) = Pretrained.Load(output, "RobertaForSequenceClassification");
        Assert.Contains(report.NewlyInitialized, n => n.StartsWith("classifier.", StringComparison.Ordinal));
        var (mlm, mlmReport) = Pretrained.Load(output);
        Assert.Equal("RobertaForMaskedLM", mlm.Architecture);
        Assert.Empty(mlmReport.NewlyInitialized);
        Assert.Equal("RobertaForSequenceClassification", classifier.Architecture);
    }

    /// <summary>
    /// --resume reads only the newest checkpoint, so older ones go as new ones come (each holds the model and its
    /// optimizer moments); a run that diverges keeps its directory, which shows it. A corpus saved with a byte order
    /// mark reads as without.
    /// </summary>
    [Fact]
    public void Pretrain_KeepsOnlyTheNewestCheckpoint_AndReadsACorpusWithAByteOrderMark()
    {
        var corpus = Path.Combine(_dir, "corpus.jsonl");
        File.WriteAllLines(corpus, File.ReadAllLines(WriteCorpus(200)).Select(l => new JsonObject { ["text"] = l }.ToJsonString()), new System.Text.UTF8Encoding(true));
        var output = Path.Combine(_dir, "model");
        // A learning rate that warms up into divergence a few steps in, after some checkpoints.
        var (code, error) = Capture(() => Eft(TinyModel(corpus, output, "--steps", "8", "--lr", "1e8", "--warmup-steps", "6",
            "--max-grad-norm", "1e30", "--checkpoint-every", "1", "--layers", "1")));
        Assert.Equal(3, code);
        var diverged = int.Parse(System.Text.RegularExpressions.Regex.Match(error, @"diverged at step (\d+)").Groups[1].Value);
        Assert.True(diverged >= 3, error);
        Assert.Equal([$"checkpoint-{diverged - 1}"], Directory.GetDirectories(output + ".partial", "checkpoint-*").Select(Path.GetFileName));
    }

    [Fact]
    public void Pretrain_MissingCorpusFile_FailsNamingItAndWritesNothing()
    {
        var output = Path.Combine(_dir, "model");
        var missing = Path.Combine(_dir, "nope.txt");
        var (code, error) = Capture(() => Eft(TinyModel(missing, output)));
        Assert.Equal(2, code);
        Assert.Contains(missing, error);
        Assert.False(Directory.Exists(output));
        Assert.False(Directory.Exists(output + ".partial"));
    }

    [Fact]
    public void Pretrain_EmptyCorpus_FailsNamingItAndWritesNothing()
    {
        var output = Path.Combine(_dir, "model");
        var empty = Path.Combine(_dir, "empty.txt");
        File.WriteAllText(empty, "\n   \n");
        var (code, error) = Capture(() => Eft(TinyModel(empty, output)));
        Assert.Equal(2, code);
        Assert.Contains($"{empty}: the corpus file holds no documents", error);
        Assert.False(Directory.Exists(output));
        Assert.False(Directory.Exists(output + ".partial"));
    }

    [Fact]
    public void Pretrain_BadJsonlRow_NamesTheLine()
    {
        var corpus = Path.Combine(_dir, "corpus.jsonl");
        File.WriteAllLines(corpus, ["{\"text\": \"a fine line\"}", "{\"body\": \"no text field\"}"]);
        var (code, error) = Capture(() => Eft(TinyModel(corpus, Path.Combine(_dir, "model"))));
        Assert.Equal(2, code);
        Assert.Contains($"{corpus}:2:", error);
    }

    [Theory]
    [InlineData("--dtype", "bf8", "--dtype 'bf8'")]
    [InlineData("--heads", "3", "not a multiple of --heads 3")]
    [InlineData("--vocab-size", "100", "at least 261")]
    public void Pretrain_BadOption_FailsAndWritesNothing(string option, string value, string message)
    {
        var output = Path.Combine(_dir, "model");
        var (code, error) = Capture(() => Eft(TinyModel(WriteCorpus(20), output, option, value)));
        Assert.Equal(2, code);
        Assert.Contains(message, error);
        Assert.False(Directory.Exists(output));
        Assert.False(Directory.Exists(output + ".partial"));
    }

    private static (int Code, string Error) Capture(Func<int> run)
    {
        using var error = new ErrorCapture();
        return (run(), error.ToString());
    }
}
