using EfficientFT.Models.Configs;
using EfficientFT.Models.Data;
using EfficientFT.Models.Nn;
using EfficientFT.Tensors;
using EfficientFT.Tensors.Autograd;

namespace EfficientFT.Models.Tests.Models;

/// <summary>Our RoBERTa and LLaMA against transformers on the golden batches: logits, loss, every gradient.</summary>
public sealed class ModelParityTests
{
    private const double Rtol = 1e-5;
    private const double Atol = 1e-6;

    private static (PretrainedModel Model, ModelBatch Batch) LoadCase(string caseName)
    {
        var dir = Fixtures.Case(caseName);
        var (model, report) = Pretrained.Load(Path.Combine(dir, "base"));
        Assert.Empty(report.NewlyInitialized);
        Assert.Empty(report.Unused);
        var regression = SequenceClassification.IsRegression(model.ModelConfig);
        var batch = JsonlBatchReader.Read(Path.Combine(dir, "batch.jsonl"), model.ModelConfig.PadTokenId ?? 0, regression);
        return (model, batch);
    }

    /// <remarks>
    /// The classifier reads the first position only, so by default our last RoBERTa layer computes only that one;
    /// with <see cref="ForwardContext.Observation"/> it computes every position, as transformers does. Both must give
    /// the reference's logits and gradients.
    /// </remarks>
    [Theory]
    [InlineData("roberta_cls__base", false)]
    [InlineData("roberta_cls__base", true)]
    [InlineData("llama_lm__base", false)]
    public void BaseCase_MatchesLogitsLossAndEveryGradient(string caseName, bool everyPosition)
    {
        var (model, batch) = LoadCase(caseName);
        model.SetTrainable(true);
        var expected = Fixtures.Expected(caseName);
        var output = model.Forward(batch, everyPosition ? ForwardContext.Observation : ForwardContext.Inference);
        output.Loss!.Backward();

        var gradients = expected.Keys.Where(k => k.StartsWith("grad.", StringComparison.Ordinal)).ToHashSet();
        Assert.Equal(model.NamedTensors().Select(p => "grad." + p.Name).Order(), gradients.Order());
        AssertMatches(model, output, expected["logits_init"], expected["loss_init"], expected);
    }

    /// <summary>
    /// With the head run at the labelled positions alone, the causal LM's loss and every gradient are still the
    /// reference's, and its logits are those rows of the reference's: [targets, vocab].
    /// </summary>
    [Fact]
    public void CausalLm_LogitsAtTargetsOnly_KeepsLossAndEveryGradient()
    {
        var (model, batch) = LoadCase("llama_lm__base");
        model.LogitsAtTargetsOnly = true;
        model.SetTrainable(true);
        var expected = Fixtures.Expected("llama_lm__base");
        var output = model.Forward(batch, ForwardContext.Inference);
        output.Loss!.Backward();

        var vocab = expected["logits_init"].Dim(-1);
        var all = expected["logits_init"].Reshape(-1, vocab).ToArray();
        var kept = Enumerable.Range(0, batch.Batch * batch.Length)
            .Where(i => i % batch.Length != batch.Length - 1 && batch.TokenLabels![i + 1] != -100).ToArray();
        var logits = Tensor.FromArray(kept.SelectMany(i => all.AsSpan(i * vocab, vocab).ToArray()).ToArray(), kept.Length, vocab);
        AssertMatches(model, output, logits, expected["loss_init"], expected);
    }

    /// <summary>Logits, loss and the gradient of every tensor of the model against the reference, all failures at once.</summary>
    private static void AssertMatches(PretrainedModel model, ModelOutput output, Tensor logits, Tensor loss, Dictionary<string, Tensor> expected)
    {
        var failures = new List<string?>
        {
            Fixtures.Compare("logits", output.Logits, logits, Rtol, Atol),
            Fixtures.Compare("loss", output.Loss!, loss, Rtol, Atol),
        };
        foreach (var (name, tensor) in model.NamedTensors())
        {
            // The key bias gradient is mathematically zero (softmax ignores a per-row constant); the reference holds
            // float32 noise, so only an absolute bound is meaningful there.
            var zeroByMaths = name.EndsWith("attention.self.key.bias", StringComparison.Ordinal);
            failures.Add(Fixtures.Compare("grad." + name, tensor.Grad!, expected["grad." + name], zeroByMaths ? 0 : Rtol, zeroByMaths ? 1e-6 : Atol));
        }
        var problems = failures.Where(f => f != null).ToArray();
        Assert.True(problems.Length == 0, string.Join("\n", problems));
    }

    [Fact]
    public void MaskedLm_MatchesPlainPyTorchReference()
    {
        // tests/fixtures/mlm/make_reference.py writes the masked-LM head out from its definition in PyTorch, on the
        // roberta_cls__base encoder, because transformers itself cannot be installed here.
        var dir = Path.Combine(AppContext.BaseDirectory, "fixtures", "mlm");
        var (model, report) = Pretrained.Load(dir);
        Assert.IsType<EfficientFT.Models.Roberta.RobertaForMaskedLM>(model);
        Assert.Empty(report.NewlyInitialized);
        model.SetTrainable(true);
        var batch = JsonlBatchReader.Read(Path.Combine(dir, "batch.jsonl"), 1, regression: false);
        var output = model.Forward(batch, ForwardContext.Inference);
        output.Loss!.Backward();
        var expected = EfficientFT.Models.SafeTensors.SafeTensorsFile.LoadAll(Path.Combine(dir, "expected.safetensors"));
        AssertMatches(model, output, expected["logits"], expected["loss"], expected);
    }

    [Fact]
    public void Roberta_FirstPositionOnly_IsPositionZeroOfEveryPosition()
    {
        var (model, batch) = LoadCase("roberta_cls__base");
        var roberta = Assert.IsType<EfficientFT.Models.Roberta.RobertaForSequenceClassification>(model).Roberta;
        using var _ = GradMode.NoGrad();
        var every = roberta.Forward(batch, ForwardContext.Inference);
        var first = roberta.Forward(batch, ForwardContext.Inference, firstPositionOnly: true);
        Assert.Equal([batch.Batch, 1, roberta.Config.HiddenSize], first.ShapeArray());
        Assert.Null(Fixtures.Compare("position 0", first, Ops.Slice(every, 1, 0, 1), Rtol, Atol));
    }

    [Fact]
    public void Llama_QueryRowsOnly_AreThoseRowsOfEveryPosition()
    {
        // Positions inside the sequences, not only the last, so the causal limit matters; sequences 1 and 3 are
        // right-padded, so the padding mask applies as well.
        var (model, batch) = LoadCase("llama_cls__lora");
        var llama = Assert.IsType<EfficientFT.Models.Llama.LlamaForSequenceClassification>(model).Model;
        int[] rows = [batch.Length - 1, 2 * batch.Length - 4, 2 * batch.Length + 5, 3 * batch.Length];
        using var _ = GradMode.NoGrad();
        var every = llama.Forward(batch, ForwardContext.Inference);
        var selected = llama.Forward(batch, ForwardContext.Inference, rows);
        var hidden = llama.Config.HiddenSize;
        Assert.Equal([batch.Batch, 1, hidden], selected.ShapeArray());
        var expected = Ops.Gather(every, rows.SelectMany(r => Enumerable.Range(r * hidden, hidden)).ToArray());
        Assert.Null(Fixtures.Compare("selected rows", selected.Reshape(-1), expected, Rtol, Atol));
    }

    [Fact]
    public void MaskedLm_HeadAtTargetsOnly_GivesTheSameLossAndGradients()
    {
        // The cross-entropy ignores positions labelled −100, so running the head only at the others is the same
        // function of every parameter.
        var dir = Path.Combine(AppContext.BaseDirectory, "fixtures", "mlm");
        var batch = JsonlBatchReader.Read(Path.Combine(dir, "batch.jsonl"), 1, regression: false);
        Assert.Contains(batch.TokenLabels!, l => l == -100);
        (float Loss, Dictionary<string, float[]> Grads, int[] Shape) Run(bool targetsOnly)
        {
            var model = (EfficientFT.Models.Roberta.RobertaForMaskedLM)Pretrained.Load(dir).Model;
            model.LogitsAtTargetsOnly = targetsOnly;
            model.SetTrainable(true);
            var output = model.Forward(batch, ForwardContext.Inference);
            output.Loss!.Backward();
            return (output.Loss.Item(), model.NamedTensors().ToDictionary(p => p.Name, p => p.Value.Grad!.Contiguous().AsSpan().ToArray()), output.Logits.Shape.ToArray());
        }
        var all = Run(false);
        var targets = Run(true);
        Assert.Equal([batch.TokenLabels!.Count(l => l != -100), all.Shape[^1]], targets.Shape);
        Assert.Equal(all.Loss, targets.Loss, 5e-6f);
        foreach (var (name, grad) in all.Grads)
            for (var i = 0; i < grad.Length; i++)
                Assert.True(Math.Abs(grad[i] - targets.Grads[name][i]) <= 1e-6 + 1e-5 * Math.Abs(grad[i]), $"{name}[{i}]: {grad[i]} vs {targets.Grads[name][i]}");
    }

    public static TheoryData<string> AllCases => new(Fixtures.CaseNames());

    [Theory]
    [MemberData(nameof(AllCases))]
    public void EveryCaseBase_LoadsAndGivesTheBaseLogits(string caseName)
    {
        var (model, batch) = LoadCase(caseName);
        var modelKind = caseName[..caseName.IndexOf("__", StringComparison.Ordinal)];
        using var _ = GradMode.NoGrad();
        var logits = model.Forward(batch, ForwardContext.Inference).Logits;
        // Every method's adapter starts as the identity on the base output (B = 0, scales 1, gates 0), and PiSSA/OLoRA
        // move a part of W into the adapter, so each case's first logits are the base model's up to that SVD/QR
        // round-off.
        var reference = Fixtures.Expected(caseName)["logits_init"];
        var tolerance = caseName.EndsWith("pissa", StringComparison.Ordinal) || caseName.EndsWith("olora", StringComparison.Ordinal) ? 1e-4 : Rtol;
        var failure = Fixtures.Compare($"{modelKind} logits", logits, reference, tolerance, Atol);
        Assert.True(failure == null, failure);
    }
}
