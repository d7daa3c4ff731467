using EfficientFT.Models.Configs;
using EfficientFT.Models.Data;
using EfficientFT.Models.Nn;
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

    [Theory]
    [InlineData("roberta_cls__base")]
    [InlineData("llama_lm__base")]
    public void BaseCase_MatchesLogitsLossAndEveryGradient(string caseName)
    {
        var (model, batch) = LoadCase(caseName);
        model.SetTrainable(true);
        var expected = Fixtures.Expected(caseName);
        var output = model.Forward(batch, ForwardContext.Inference);
        output.Loss!.Backward();

        var failures = new List<string?>
        {
            Fixtures.Compare("logits_init", output.Logits, expected["logits_init"], Rtol, Atol),
            Fixtures.Compare("loss_init", output.Loss, expected["loss_init"], Rtol, Atol),
        };
        var gradients = expected.Keys.Where(k => k.StartsWith("grad.", StringComparison.Ordinal)).ToHashSet();
        foreach (var (name, tensor) in model.NamedTensors())
        {
            Assert.True(gradients.Remove("grad." + name), $"the fixture has no gradient for {name}");
            // The key bias gradient is mathematically zero (softmax ignores a per-row constant); the fixture holds
            // float32 noise, so only an absolute bound is meaningful there.
            var zeroByMaths = name.EndsWith("attention.self.key.bias", StringComparison.Ordinal);
            failures.Add(Fixtures.Compare("grad." + name, tensor.Grad!, expected["grad." + name], zeroByMaths ? 0 : Rtol, zeroByMaths ? 1e-6 : Atol));
        }
        Assert.Empty(gradients);
        var problems = failures.Where(f => f != null).ToArray();
        Assert.True(problems.Length == 0, string.Join("\n", problems));
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
