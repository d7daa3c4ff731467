using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using EfficientFT.Cli.Commands;
using EfficientFT.Models.SafeTensors;
using EfficientFT.Peft;
using EfficientFT.Tensors.Blas;

namespace EfficientFT.Cli.Tests;

/// <summary>`eft train` reproduces peft's three steps from the fixtures' initial adapters.</summary>
[Collection("console")]
public sealed class TrainCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("eft-train-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static string Case(string name) => Path.Combine(AppContext.BaseDirectory, "fixtures", "peft", name);

    private static int Eft(params string[] args) => EftCommand.Create().Parse(args).Invoke();

    /// <summary>The fixtures' three AdamW steps run at a constant rate without clipping, not at `eft train`'s defaults.</summary>
    private static readonly string[] ReferenceSchedule = ["--schedule", "constant", "--max-grad-norm", "0"];

    [Theory]
    [InlineData("roberta_cls__lambda", "v=4", new string[0])]
    [InlineData("llama_lm__adalora", null, new string[0])]
    [InlineData("roberta_cls__lambda", "v=4", new[] { "--gradient-checkpointing" })]
    [InlineData("roberta_cls__lambda", "v=4", new[] { "--packed-weights", "on" })]
    [InlineData("llama_lm__adalora", null, new[] { "--gradient-checkpointing" })]
    public void Train_FromTheInitialAdapter_FollowsTheReference(string caseName, string? lrRatio, string[] extra)
    {
        var dir = Case(caseName);
        List<string> args =
        [
            "train", "--model", Path.Combine(dir, "base"), "--init-adapter", Path.Combine(dir, "adapter_init"),
            "--data", Path.Combine(dir, "batch.jsonl"), "--batch-size", "4", "--max-steps", "3", "--lr", "0.01",
            "--no-shuffle", "--output", _dir, .. ReferenceSchedule,
        ];
        if (lrRatio != null) args.AddRange(["--lr-ratio", lrRatio]);
        args.AddRange(extra);
        Assert.Equal(0, Eft(args.ToArray()));

        var expected = SafeTensorsFile.LoadAll(Path.Combine(dir, "expected.safetensors"));
        var losses = File.ReadAllLines(Path.Combine(_dir, "train_log.jsonl")).Select(l => JsonNode.Parse(l)!["loss"]!.GetValue<float>()).ToArray();
        Assert.Equal(3, losses.Length);
        for (var k = 0; k < 3; k++)
        {
            var reference = expected[$"loss_step_{k + 1}"].Item();
            Assert.True(Math.Abs(losses[k] - reference) <= 1e-6 + 1e-5 * Math.Abs(reference), $"step {k + 1}: {losses[k]} vs {reference}");
        }
        var ours = SafeTensorsFile.LoadAll(Path.Combine(_dir, "adapter", "adapter_model.safetensors"));
        var theirs = SafeTensorsFile.LoadAll(Path.Combine(dir, "adapter_final", "adapter_model.safetensors"));
        Assert.Equal(theirs.Keys.Order(), ours.Keys.Order());
        foreach (var (name, tensor) in theirs)
        {
            var a = ours[name].ToArray();
            var e = tensor.ToArray();
            var scale = e.Max(Math.Abs);
            Assert.All(a.Zip(e), p => Assert.True(Math.Abs(p.First - p.Second) <= 1e-6 + 1e-5 * scale, $"{name}: {p.First} vs {p.Second}"));
        }
    }

    /// <summary>
    /// With the frozen weights in bfloat16, the run is peft's reference on a base model rounded to bfloat16. That
    /// reference is not among the fixtures, so the check is one step removed: the losses stay within bfloat16's
    /// relative precision (2⁻⁸) of the float32 reference, are not the float32 run's own, and the adapter loads back.
    /// </summary>
    [Fact]
    public void Train_WithFrozenBFloat16_StaysNearTheFloat32Reference()
    {
        var dir = Case("roberta_cls__lambda");
        Assert.Equal(0, Eft(["train", "--model", Path.Combine(dir, "base"), "--init-adapter", Path.Combine(dir, "adapter_init"),
            "--data", Path.Combine(dir, "batch.jsonl"), "--batch-size", "4", "--max-steps", "3", "--lr", "0.01",
            "--no-shuffle", "--lr-ratio", "v=4", "--frozen-bf16", "--output", _dir, .. ReferenceSchedule]));

        var expected = SafeTensorsFile.LoadAll(Path.Combine(dir, "expected.safetensors"));
        var losses = File.ReadAllLines(Path.Combine(_dir, "train_log.jsonl")).Select(l => JsonNode.Parse(l)!["loss"]!.GetValue<float>()).ToArray();
        for (var k = 0; k < 3; k++)
        {
            var reference = expected[$"loss_step_{k + 1}"].Item();
            Assert.True(Math.Abs(losses[k] - reference) <= Math.Abs(reference) / 256, $"step {k + 1}: {losses[k]} vs {reference}");
            Assert.NotEqual(reference, losses[k]);
        }
        var (model, _) = EfficientFT.Models.Pretrained.Load(Path.Combine(dir, "base"));
        Assert.NotEmpty(PeftModel.LoadAdapter(model, Path.Combine(_dir, "adapter")).Trainable);
    }

    [Fact]
    public void Train_OnUnlabelledRows_FailsNamingTheFileAndWritesNothing()
    {
        var rows = Path.Combine(_dir, "rows.jsonl");
        File.WriteAllText(rows, "{\"input_ids\": [5, 6, 7]}\n{\"input_ids\": [8, 9]}\n");
        var output = Path.Combine(_dir, "out");
        using var error = new ErrorCapture();
        Assert.Equal(2, Eft("train", "--model", Path.Combine(Case("roberta_cls__lambda"), "base"), "--data", rows,
            "--max-steps", "1", "--output", output));
        Assert.Contains(rows, error.ToString());
        Assert.Contains("nothing to train on", error.ToString());
        Assert.False(Directory.Exists(output));
    }

    /// <summary>
    /// A checkpoint saved with a masked-LM head trains on rows labelled "label" as its family's classifier, as
    /// AutoModelForSequenceClassification builds it: sized by the largest label, or by --num-labels; the adapter
    /// carries the head, and applies to the same checkpoint again.
    /// </summary>
    /// <remarks>
    /// Also a classifier checkpoint given another label set, and a method that saves the head under the model's own
    /// names (BitFit): forward and a continued run (--init-adapter) size the head from the adapter.
    /// </remarks>
    [Theory]
    [InlineData("RobertaForMaskedLM", "lora", null, 1, 2)]
    [InlineData("RobertaForMaskedLM", "lora", null, 0, 2)]
    [InlineData("RobertaForMaskedLM", "lora", "5", 1, 5)]
    [InlineData("RobertaForMaskedLM", "bitfit", null, 4, 5)]
    [InlineData("RobertaForSequenceClassification", "lora", "2", 1, 2)]
    [InlineData("RobertaForSequenceClassification", "lora", "3", 1, 3)]
    public void Train_OnABodyWithAnLmHead_TrainsTheClassifierTheLabelsAsk(string architecture, string method, string? numLabels, int secondLabel, int expected)
    {
        var body = Bodies.Copy(Case("roberta_cls__base"), _dir, architecture, withHead: true);
        var rows = Path.Combine(_dir, "rows.jsonl");
        File.WriteAllText(rows, $"{{\"input_ids\": [5, 6, 7], \"label\": 0}}\n{{\"input_ids\": [8, 9], \"label\": {secondLabel}}}\n");
        var output = Path.Combine(_dir, "out");
        var (code, error) = EftWithError(["train", "--model", body, "--method", method, "--data", rows, "--max-steps", "1", "--output", output,
            .. numLabels != null ? new[] { "--num-labels", numLabels } : []]);
        Assert.True(code == 0, error);
        if (numLabels == null) Assert.Contains($"trains as RobertaForSequenceClassification with {expected} classes (the largest label + 1, at least 2)", error);
        // The checkpoint's own head is kept where it has the labels asked for.
        Assert.Equal(architecture == "RobertaForSequenceClassification" && expected == 3, !error.Contains("initialised fresh"));
        var adapter = Path.Combine(output, "adapter");
        var tensors = SafeTensorsFile.LoadAll(Path.Combine(adapter, "adapter_model.safetensors"));
        var head = tensors.GetValueOrDefault("base_model.model.classifier.out_proj.weight") ?? tensors["classifier.out_proj.weight"];
        Assert.Equal(expected, head.Dim(0));
        Assert.Equal(0, Eft("forward", "--model", body, "--adapter", adapter, "--data", rows, "--out", Path.Combine(_dir, "o.safetensors")));
        var again = EftWithError("train", "--model", body, "--init-adapter", adapter, "--data", rows, "--max-steps", "1", "--output", Path.Combine(_dir, "again"));
        Assert.True(again.Code == 0, again.Error);
    }

    /// <summary>
    /// Rows whose "label" is an array train a multi-label classifier with binary cross-entropy, as transformers does
    /// for float labels: a body gets a head of one output per entry, and forward's loss is the mean of BCE's definition
    /// over the logits it writes. A method without an adapter file saves the merged model with problem_type
    /// "multi_label_classification", so it reads the rows again. A classifier whose config says single-label refuses
    /// the arrays at their line unless --num-labels says to train its head (same size, kept) multi-label.
    /// </summary>
    [Fact]
    public void Train_OnMultiHotRows_TrainsAMultiLabelClassifier()
    {
        var body = Bodies.Copy(Case("roberta_cls__base"), _dir, "RobertaForMaskedLM", withHead: true);
        var rows = Path.Combine(_dir, "rows.jsonl");
        File.WriteAllText(rows, "{\"input_ids\": [5, 6, 7], \"label\": [1, 0, 1, 0]}\n{\"input_ids\": [8, 9], \"label\": [0, 1, 0, 0]}\n");
        var (code, error) = EftWithError("train", "--model", body, "--data", rows, "--max-steps", "2", "--output", Path.Combine(_dir, "out"));
        Assert.True(code == 0, error);
        Assert.Contains("trains as RobertaForSequenceClassification with 4 labels, multi-label", error);
        var adapter = Path.Combine(_dir, "out", "adapter");
        Assert.Equal(4, SafeTensorsFile.LoadAll(Path.Combine(adapter, "adapter_model.safetensors"))["base_model.model.classifier.out_proj.weight"].Dim(0));
        // peft's AutoPeftModel finds the base by the name the run was given.
        Assert.Equal(body, JsonNode.Parse(File.ReadAllText(Path.Combine(adapter, "adapter_config.json")))!["base_model_name_or_path"]!.GetValue<string>());

        var written = Path.Combine(_dir, "o.safetensors");
        Assert.Equal(0, Eft("forward", "--model", body, "--adapter", adapter, "--data", rows, "--out", written));
        var result = SafeTensorsFile.LoadAll(written);
        float[] targets = [1, 0, 1, 0, 0, 1, 0, 0];
        var expected = result["logits"].ToArray().Zip(targets, (x, y) => y == 1 ? Math.Log(1 + Math.Exp(-x)) : Math.Log(1 + Math.Exp(x))).Average();
        Assert.Equal(expected, result["loss"].Item(), 5);

        Assert.Equal(0, Eft("train", "--model", body, "--method", "sift", "--data", rows, "--max-steps", "1", "--output", Path.Combine(_dir, "sift")));
        var merged = Path.Combine(_dir, "sift", "merged");
        Assert.Equal("multi_label_classification", JsonNode.Parse(File.ReadAllText(Path.Combine(merged, "config.json")))!["problem_type"]!.GetValue<string>());
        Assert.Equal(0, Eft("forward", "--model", merged, "--data", rows, "--out", written));

        var classifier = Path.Combine(Case("roberta_cls__base"), "base");
        File.WriteAllText(rows, "{\"input_ids\": [5, 6, 7], \"label\": [1, 0, 1]}\n");
        (code, error) = EftWithError("train", "--model", classifier, "--data", rows, "--max-steps", "1", "--output", Path.Combine(_dir, "single"));
        Assert.Equal(2, code);
        Assert.Contains($"{rows}:1:", error);
        Assert.Contains("problem_type is single_label_classification", error);
        (code, error) = EftWithError("train", "--model", classifier, "--data", rows, "--num-labels", "3", "--max-steps", "1", "--output", Path.Combine(_dir, "renamed"));
        Assert.True(code == 0, error);
        Assert.DoesNotContain("initialised fresh", error);
        Assert.Contains("config.json's problem_type is single_label_classification; the rows train the head as multi_label_classification", error);
        (code, error) = EftWithError("forward", "--model", classifier, "--adapter", Path.Combine(_dir, "renamed", "adapter"), "--data", rows, "--out", written);
        Assert.True(code == 0, error);

        File.WriteAllText(rows, "{\"input_ids\": [5, 6, 7], \"label\": [1, 0, 1, 0]}\n{\"input_ids\": [8, 9], \"label\": 2}\n");
        (code, error) = EftWithError("train", "--model", body, "--data", rows, "--max-steps", "1", "--output", Path.Combine(_dir, "mixed"));
        Assert.Equal(2, code);
        Assert.Contains($"{rows}:2: \"label\" is a number, but on line 1 it is an array; label every row one way.", error);
    }

    /// <summary>
    /// Rows made for a causal language model keep a dataset's "label" beside their "labels" (tokenize --causal-lm
    /// carries other fields over): the model trains as the language model it is, not as a classifier of "label".
    /// </summary>
    [Fact]
    public void Train_OnTokenLabelledRowsWithAStrayLabel_TrainsTheLanguageModel()
    {
        var rows = Path.Combine(_dir, "rows.jsonl");
        File.WriteAllLines(rows, File.ReadLines(Path.Combine(Case("llama_lm__base"), "batch.jsonl"))
            .Select(l => { var row = JsonNode.Parse(l)!.AsObject(); row["label"] = 7; return row.ToJsonString(); }));
        var output = Path.Combine(_dir, "out");
        var (code, error) = EftWithError("train", "--model", Path.Combine(Case("llama_lm__base"), "base"), "--data", rows, "--max-steps", "1", "--output", output);
        Assert.True(code == 0, error);
        Assert.Contains("rows carry per-token \"labels\", so LlamaForCausalLM trains as it is", error);
        Assert.Equal("CAUSAL_LM", JsonNode.Parse(File.ReadAllText(Path.Combine(output, "adapter", "adapter_config.json")))!["task_type"]!.GetValue<string>());
    }

    /// <summary>
    /// A run that diverges names the step whose loss was not finite (here the first: a regression target near
    /// float32's largest value squares to infinity); the log holds the losses before it, and no adapter is written.
    /// </summary>
    [Fact]
    public void Train_ThatDiverges_NamesTheStepAndKeepsTheLossesBeforeIt()
    {
        var rows = Path.Combine(_dir, "rows.jsonl");
        File.WriteAllText(rows, "{\"input_ids\": [5, 6, 7], \"label\": 3e38}\n{\"input_ids\": [8, 9], \"label\": -3e38}\n");
        var output = Path.Combine(_dir, "out");
        var (code, error) = EftWithError("train", "--model", Path.Combine(Case("roberta_cls__base"), "base"), "--num-labels", "1",
            "--data", rows, "--max-steps", "4", "--output", output);
        Assert.Equal(3, code);
        Assert.Contains("training diverged at step 1;", error);
        Assert.Empty(File.ReadAllLines(Path.Combine(output, "train_log.jsonl")));
        Assert.False(Directory.Exists(Path.Combine(output, "adapter")));
    }

    /// <summary>
    /// A LLaMA classifier pools each row at its last token, found by pad_token_id; a base model's config without one
    /// is refused before anything loads, not at the first step.
    /// </summary>
    [Fact]
    public void Train_OnALlamaBodyWithoutAPadToken_IsRefusedUpFront()
    {
        var rows = Path.Combine(_dir, "rows.jsonl");
        File.WriteAllText(rows, "{\"input_ids\": [5, 6, 7], \"label\": 0}\n{\"input_ids\": [8, 9], \"label\": 1}\n");
        var (code, error) = EftWithError("train", "--model", Path.Combine(Case("llama_lm__base"), "base"), "--data", rows, "--max-steps", "1", "--output", Path.Combine(_dir, "out"));
        Assert.Equal(2, code);
        Assert.Contains("config.json: sets no pad_token_id (or -1, which means none), and LlamaForSequenceClassification finds each row's last token by it in a batch", error);
        Assert.False(Directory.Exists(Path.Combine(_dir, "out")));
    }

    private (int Code, string Error) EftWithError(params string[] args)
    {
        using var error = new ErrorCapture();
        return (Eft(args), error.ToString());
    }

    /// <summary>
    /// --resume continues only the run that took the checkpoint: with none it is an error (transformers' own
    /// resume_from_checkpoint=True), and another learning rate is refused by name; the same command continues. A run
    /// without --resume does not start beside another run's checkpoints.
    /// </summary>
    [Fact]
    public void Train_Resume_ContinuesOnlyTheSameRun()
    {
        var dir = Case("roberta_cls__lambda");
        string[] Command(string lr, int steps, params string[] more) =>
        [
            "train", "--model", Path.Combine(dir, "base"), "--data", Path.Combine(dir, "batch.jsonl"), "--batch-size", "2",
            "--max-steps", steps.ToString(CultureInfo.InvariantCulture), "--lr", lr, "--checkpoint-every", "1", "--output", _dir, .. more,
        ];
        var (nothing, nothingError) = EftWithError(Command("0.01", 2, "--resume"));
        Assert.Equal(2, nothing);
        Assert.Contains("holds no checkpoint", nothingError);

        Assert.Equal(0, Eft(Command("0.01", 2)));
        var (fresh, freshError) = EftWithError(Command("0.01", 2));
        Assert.Equal(2, fresh);
        Assert.Contains("earlier run's checkpoints (checkpoint-2)", freshError);
        var (other, otherError) = EftWithError(Command("0.02", 3, "--resume"));
        Assert.Equal(2, other);
        Assert.Contains("checkpoint-2", otherError);
        Assert.Contains("lr 0.01 there, 0.02 here", otherError);

        Assert.Equal(0, Eft(Command("0.01", 3, "--resume")));
        Assert.Equal(3, File.ReadAllLines(Path.Combine(_dir, "train_log.jsonl")).Length);
    }

    /// <summary>The adapter given to --init-adapter brings its method and settings; naming others is refused, not ignored.</summary>
    [Fact]
    public void Train_InitAdapterWithMethodOptions_IsRefusedNamingThem()
    {
        var dir = Case("llama_lm__adalora");
        var (code, error) = EftWithError("train", "--model", Path.Combine(dir, "base"), "--init-adapter", Path.Combine(dir, "adapter_init"),
            "--data", Path.Combine(dir, "batch.jsonl"), "--max-steps", "1", "--rank", "16", "--method", "dora", "--output", _dir);
        Assert.Equal(2, code);
        Assert.Contains("--rank", error);
        Assert.Contains("--method", error);
        Assert.False(Directory.Exists(Path.Combine(_dir, "adapter")));
    }

    [Theory]
    [InlineData("--lr-ratio", "q=4")]
    [InlineData("--checkpoint-minutes", "-1")]
    [InlineData("--max-grad-norm", "-1")]
    [InlineData("--keep-checkpoints", "0")]
    [InlineData("--schedule", "2")]
    [InlineData("--packed-weights", "yes")]
    public void Train_BadOption_FailsClearly(string option, string value)
    {
        var dir = Case("roberta_cls__lambda");
        using var error = new ErrorCapture();
        Assert.Equal(2, Eft("train", "--model", Path.Combine(dir, "base"), "--data", Path.Combine(dir, "batch.jsonl"),
            "--max-steps", "1", option, value, "--output", _dir));
        Assert.Contains(option, error.ToString());
    }

    [Theory]
    [InlineData("roberta_cls__lambda", "lora")]
    [InlineData("llama_lm__adalora", "dora")]
    [InlineData("llama_lm__adalora", "lora", "--frozen-bf16")]
    [InlineData("roberta_cls__lambda", "full", "--frozen-bf16")]
    [InlineData("roberta_cls__lambda", "lora", "--packed-weights=on")]
    public void PerfTrain_RunsOnAConfigFile(string caseName, string method, string? extra = null)
    {
        // The benchmark's quick mode: it must run end to end; its figures are never asserted.
        string[] args = ["perf", "train", "--arch", Path.Combine(Case(caseName), "base", "config.json"), "--method", method,
            "--batch", "2", "--seq", "8", "--steps", "1", "--warmup", "0"];
        Assert.Equal(0, Eft(extra == null ? args : [.. args, extra]));
    }

    [Fact]
    public void PerfGemm_TimesThePackedPathOnEveryShapeTheManagedPathRuns()
    {
        // The benchmark's quick mode, as for perf train: figures are never asserted. Every shape it times multiplies
        // by a weight (A is never transposed), so each plain managed row has a packed row beside it.
        using var capture = new ConsoleCapture();
        Assert.Equal(0, Eft("perf", "gemm", "--threads", "1", "--reps", "1", "--warmup", "0"));
        var rows = capture.Text.ToString().Split('\n').Where(line => Regex.IsMatch(line, @"^\d+×\d+×\d+ \w\w .*\d+\.\d\s*$")).ToArray();
        var managed = new ManagedGemm().Name;
        var plain = rows.Count(row => Regex.IsMatch(row, $@" {managed} +\d"));
        Assert.True(plain > 0, "no timed rows for the managed path");
        Assert.Equal(plain, rows.Count(row => row.Contains($" {managed} packed ")));
    }

    [Fact]
    public void Methods_DescribesEveryRegisteredMethod()
    {
        Assert.Empty(PeftMethods.Registry.Keys.Except(MethodsCommand.Descriptions.Keys));
        Assert.Empty(MethodsCommand.Descriptions.Keys.Except(PeftMethods.Registry.Keys));
    }
}
