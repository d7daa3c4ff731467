using EfficientFT.Cli.Commands;
using EfficientFT.Models.SafeTensors;
using EfficientFT.Tensors;

namespace EfficientFT.Cli.Tests;

/// <summary>`eft forward` end to end, in-process, against the golden logits.</summary>
[Collection("console")]
public sealed class ForwardCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("eft-cli-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static string Case(string name) => Path.Combine(AppContext.BaseDirectory, "fixtures", "peft", name);

    private static int Eft(params string[] args) => EftCommand.Create().Parse(args).Invoke();

    [Theory]
    [InlineData("roberta_cls__base")]
    [InlineData("llama_lm__base")]
    public void Forward_WritesTheReferenceLogitsAndLoss(string caseName)
    {
        var output = Path.Combine(_dir, "out.safetensors");
        var rc = Eft("forward", "--model", Path.Combine(Case(caseName), "base"), "--data", Path.Combine(Case(caseName), "batch.jsonl"), "--out", output);
        Assert.Equal(0, rc);
        var actual = SafeTensorsFile.LoadAll(output);
        var expected = SafeTensorsFile.LoadAll(Path.Combine(Case(caseName), "expected.safetensors"));
        foreach (var (name, reference) in new[] { ("logits", "logits_init"), ("loss", "loss_init") })
        {
            var a = actual[name].ToArray();
            var e = expected[reference].ToArray();
            Assert.Equal(e.Length, a.Length);
            var scale = e.Max(Math.Abs);
            Assert.All(a.Zip(e), p => Assert.True(Math.Abs(p.First - p.Second) <= 1e-6 + 1e-5 * scale, $"{name}: {p.First} vs {p.Second}"));
        }
    }

    [Fact]
    public void ForwardWithAdapter_AndMergedCheckpoint_GivePeftsFinalLogits()
    {
        // peft's own DoRA adapter after three steps, applied here, and the same merged into a plain checkpoint.
        var dir = Case("roberta_cls__dora");
        var expected = SafeTensorsFile.LoadAll(Path.Combine(dir, "expected.safetensors"))["logits_final"].ToArray();
        var scale = expected.Max(Math.Abs);
        var adapted = Path.Combine(_dir, "adapted.safetensors");
        Assert.Equal(0, Eft("forward", "--model", Path.Combine(dir, "base"), "--adapter", Path.Combine(dir, "adapter_final"),
            "--data", Path.Combine(dir, "batch.jsonl"), "--out", adapted));
        var merged = Path.Combine(_dir, "merged");
        Assert.Equal(0, Eft("merge", "--model", Path.Combine(dir, "base"), "--adapter", Path.Combine(dir, "adapter_final"), "--out", merged));
        var fromMerged = Path.Combine(_dir, "merged.safetensors");
        Assert.Equal(0, Eft("forward", "--model", merged, "--data", Path.Combine(dir, "batch.jsonl"), "--out", fromMerged));
        foreach (var file in new[] { adapted, fromMerged })
        {
            var logits = SafeTensorsFile.LoadAll(file)["logits"].ToArray();
            Assert.All(logits.Zip(expected), p => Assert.True(Math.Abs(p.First - p.Second) <= 1e-6 + 1e-5 * scale, $"{file}: {p.First} vs {p.Second}"));
        }
    }

    /// <summary>The case's adapter, with or without the head peft saved beside it (modules_to_save).</summary>
    private string Adapter(string caseName, bool withHead)
    {
        var dir = Directory.CreateDirectory(Path.Combine(_dir, $"adapter-{withHead}")).FullName;
        File.Copy(Path.Combine(Case(caseName), "adapter_final", "adapter_config.json"), Path.Combine(dir, "adapter_config.json"));
        var tensors = SafeTensorsFile.LoadAll(Path.Combine(Case(caseName), "adapter_final", "adapter_model.safetensors"));
        SafeTensorsWriter.Save(Path.Combine(dir, "adapter_model.safetensors"), tensors.Where(t => withHead || !t.Key.Contains(".classifier.", StringComparison.Ordinal)));
        return dir;
    }

    /// <summary>
    /// A peft SEQ_CLS adapter applies to the checkpoint it was trained from however that checkpoint was saved: with a
    /// masked-LM head (roberta-base: peft's user builds the classifier with AutoModelForSequenceClassification, its
    /// size from the adapter's head), or as a classifier whose head only the adapter holds. Forward and merge both
    /// give peft's logits.
    /// </summary>
    [Theory]
    [InlineData("RobertaForMaskedLM", false)]
    [InlineData("RobertaForMaskedLM", true)]
    [InlineData("RobertaForSequenceClassification", false)]
    public void ASeqClsAdapter_OnItsBody_GivesPeftsLogits(string architecture, bool headInBase)
    {
        var dir = Case("roberta_cls__dora");
        var (body, adapter) = (Bodies.Copy(Case("roberta_cls__dora"), _dir, architecture, headInBase), Path.Combine(dir, "adapter_final"));
        var expected = SafeTensorsFile.LoadAll(Path.Combine(dir, "expected.safetensors"))["logits_final"].ToArray();
        var adapted = Path.Combine(_dir, "adapted.safetensors");
        Assert.Equal(0, Eft("forward", "--model", body, "--adapter", adapter, "--data", Path.Combine(dir, "batch.jsonl"), "--out", adapted));
        var merged = Path.Combine(_dir, "merged");
        Assert.Equal(0, Eft("merge", "--model", body, "--adapter", adapter, "--out", merged));
        var fromMerged = Path.Combine(_dir, "merged.safetensors");
        Assert.Equal(0, Eft("forward", "--model", merged, "--data", Path.Combine(dir, "batch.jsonl"), "--out", fromMerged));
        foreach (var file in new[] { adapted, fromMerged })
            Assert.All(SafeTensorsFile.LoadAll(file)["logits"].ToArray().Zip(expected), p => Assert.True(Math.Abs(p.First - p.Second) <= 1e-5, $"{file}: {p.First} vs {p.Second}"));
    }

    /// <summary>A head in neither the checkpoint nor the adapter would give random logits: forward and merge refuse, writing nothing.</summary>
    [Theory]
    [InlineData("forward")]
    [InlineData("merge")]
    public void AHeadNobodySaved_IsRefused(string command)
    {
        var dir = Case("roberta_cls__dora");
        var (body, adapter) = (Bodies.Copy(Case("roberta_cls__dora"), _dir, "RobertaForSequenceClassification", withHead: false), Adapter("roberta_cls__dora", withHead: false));
        var output = Path.Combine(_dir, "out");
        using var error = new ErrorCapture();
        Assert.Equal(2, command == "forward"
            ? Eft("forward", "--model", body, "--adapter", adapter, "--data", Path.Combine(dir, "batch.jsonl"), "--out", output)
            : Eft("merge", "--model", body, "--adapter", adapter, "--out", output));
        Assert.Contains($"lacks the RobertaForSequenceClassification head (classifier.dense.weight", error.ToString());
        Assert.Contains($"{adapter} does not carry it", error.ToString());
        Assert.False(Path.Exists(output));
    }

    /// <summary>
    /// Each bad row is reported at its line before the model runs. The tiny RoBERTa has a vocabulary of 120 and three
    /// classes; its regression twin has one output.
    /// </summary>
    [Theory]
    [InlineData("roberta_cls__base", "{\"input_ids\": [5, 6, 7]}\n{\"input_ids\": [5, \"x\"]}\n", "rows.jsonl:2", "not an integer")]
    [InlineData("roberta_cls__base", "{\"input_ids\": [5, 6], \"label\": 1}\n\n{\"input_ids\": [5, 6]}\n", "rows.jsonl:3", "label every row or none")]
    [InlineData("roberta_cls__base", "{\"input_ids\": [5, 6], \"label\": 3}\n", "rows.jsonl:1", "outside the model's 3 classes")]
    [InlineData("roberta_cls__base", "{\"input_ids\": [5, 6], \"label\": -1}\n", "rows.jsonl:1", "outside the model's 3 classes")]
    [InlineData("roberta_cls__base", "{\"input_ids\": [5, 6]}\n{\"input_ids\": [5, 120]}\n", "rows.jsonl:2", "vocabulary of 120")]
    [InlineData("roberta_cls__base", "{\"input_ids\": [5, 6], \"label\": 1}\n{\"input_ids\": [5, 6], \"label\": null}\n", "rows.jsonl:2", "\"label\" is null")]
    [InlineData("roberta_reg__lora", "{\"input_ids\": [5, 6], \"label\": \"0.5\"}\n", "rows.jsonl:1", "a finite number is needed")]
    // 40 positions from padding_idx + 1 = 2 leave room for 38 tokens.
    [InlineData("roberta_cls__base", "{\"input_ids\": [5, 6]}\n{\"input_ids\": [5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5]}\n", "rows.jsonl:2", "39 tokens, more than the model takes (38)")]
    [InlineData("roberta_cls__base", "{\"input_ids\": [5, 6], \"labels\": [5, 6]}\n", "rows.jsonl", "class labels (\"label\"), and the rows have none")]
    [InlineData("llama_lm__base", "{\"input_ids\": [5, 6], \"label\": 1}\n", "rows.jsonl", "token labels (\"labels\"), and the rows have none")]
    public void Forward_BadRows_FailsWithExitCode2NamingTheLineAndWritesNothing(string caseName, string content, string where, string what)
    {
        var rows = Path.Combine(_dir, "rows.jsonl");
        File.WriteAllText(rows, content);
        var output = Path.Combine(_dir, "out.safetensors");
        using var error = new ErrorCapture();
        Assert.Equal(2, Eft("forward", "--model", Path.Combine(Case(caseName), "base"), "--data", rows, "--out", output));
        Assert.Contains(where, error.ToString());
        Assert.Contains(what, error.ToString());
        Assert.DoesNotContain("   at ", error.ToString());
        Assert.False(File.Exists(output));
    }

    /// <summary>
    /// A checkpoint of a model type this library does not build (GPT-2 here) still has its tensors listed, with a note
    /// about the config, rather than failing before the table.
    /// </summary>
    [Fact]
    public void Inspect_AnUnsupportedModelType_StillListsTheTensors()
    {
        var dir = Path.Combine(_dir, "gpt2");
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "config.json"), """{"model_type": "gpt2", "architectures": ["GPT2LMHeadModel"], "n_embd": 8}""");
        SafeTensorsWriter.Save(Path.Combine(dir, "model.safetensors"), [KeyValuePair.Create("wte.weight", Tensor.Zeros(3, 8))]);
        using var error = new ErrorCapture();
        using var capture = new ConsoleCapture();
        Assert.Equal(0, Eft("inspect", dir));
        Assert.Contains("gpt2", error.ToString());
        var row = capture.Text.ToString().Split('\n').Single(l => l.Contains("wte.weight"));
        Assert.Equal("24", row.Split('│', '|').Select(c => c.Trim()).Where(c => c.Length > 0).Last());
    }

    [Fact]
    public void Inspect_CorruptFile_FailsWithExitCode2()
    {
        var path = Path.Combine(_dir, "model.safetensors");
        File.WriteAllBytes(path, [1, 2, 3]);
        using var error = new ErrorCapture();
        Assert.Equal(2, Eft("inspect", path));
        Assert.Contains(path, error.ToString());
    }
}
