using System.Text.Json.Nodes;
using EfficientFT.Models;
using EfficientFT.Models.Data;
using EfficientFT.Models.Nn;
using EfficientFT.Models.SafeTensors;
using EfficientFT.Peft;
using EfficientFT.Tensors;

namespace EfficientFT.Training.Tests;

/// <summary>
/// One golden case of tests/fixtures/peft for the methods that are more than a layer (GaLore, SIFT): the base model
/// with the method installed on query and value, the batch, case.json and expected.safetensors, and the per-tensor
/// comparison the fixture README prescribes (max |actual − expected| ≤ atol + rtol·max |expected|).
/// </summary>
internal sealed record FixtureCase(string Directory, PeftModel Peft, ModelBatch Batch, JsonObject Json, Dictionary<string, Tensor> Expected)
{
    /// <summary>The trainable tensors are the reference's, by name and in order, and so is their total size.</summary>
    public static void AssertTrainableSet(JsonObject caseJson, PeftModel peft)
    {
        var expected = caseJson["trainable_parameters"]!.AsArray().Select(p => p!["name"]!.GetValue<string>()).ToList();
        Assert.Equal(expected, peft.Trainable.Select(p => p.Name).ToList());
        Assert.Equal(caseJson["trainable_parameter_count"]!.GetValue<long>(), peft.TrainableCount);
    }

    public static FixtureCase Load(string caseName)
    {
        var dir = Path.Combine(AppContext.BaseDirectory, "fixtures", "peft", caseName);
        var json = (JsonObject)JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "case.json")))!;
        var (model, _) = Pretrained.Load(Path.Combine(dir, "base"));
        var peft = PeftModel.Create(model, new PeftOptions
        {
            Method = json["method"]!.GetValue<string>(),
            Targets = TargetSpec.Parse("query,value"),
            SparseRate = json["method_description"]?["sparse_rate"]?.GetValue<double>() ?? 0.2,
        });
        var batch = JsonlBatchReader.Read(Path.Combine(dir, "batch.jsonl"), model.ModelConfig.PadTokenId ?? 0,
            SequenceClassification.IsRegression(model.ModelConfig));
        return new FixtureCase(dir, peft, batch, json, SafeTensorsFile.LoadAll(Path.Combine(dir, "expected.safetensors")));
    }

    /// <summary>The recommended (rtol, atol) of a tolerance group: loss, logits_init, grad, param_step_1, logits_final.</summary>
    public (double Rtol, double Atol) Tolerance(string group) => Tolerance(Json, group);

    /// <summary>The recommended (rtol, atol) of a tolerance group in a case.json.</summary>
    public static (double Rtol, double Atol) Tolerance(JsonObject caseJson, string group)
    {
        var t = caseJson["tolerances"]!["recommended"]![group]!;
        return (t["rtol"]!.GetValue<double>(), t["atol"]!.GetValue<double>());
    }

    /// <summary>
    /// The fixtures' training procedure (README §5): three steps on the same batch, checking each loss, the first
    /// logits and every step-1 gradient before the update, every tensor after it, and the logits after step 3.
    /// Returns one entry per check, null where it passed.
    /// </summary>
    public static List<string?> ThreeSteps(PeftModel peft, Optimizers.IOptimizer optimizer, ModelBatch batch, JsonObject caseJson,
        Dictionary<string, Tensor> expected)
    {
        var failures = new List<string?>();
        for (var step = 1; step <= 3; step++)
        {
            var output = peft.Forward(batch, ForwardContext.Inference);
            output.Loss!.Backward();
            failures.Add(Compare($"loss_step_{step}", output.Loss, expected[$"loss_step_{step}"], Tolerance(caseJson, "loss")));
            if (step == 1)
            {
                failures.Add(Compare("logits_init", output.Logits, expected["logits_init"], Tolerance(caseJson, "logits_init")));
                foreach (var p in peft.Trainable)
                    failures.Add(Compare("grad." + p.Name, p.Value.Grad!, expected["grad." + p.Name], Tolerance(caseJson, "grad")));
            }
            optimizer.Step();
            if (step == 1)
                foreach (var p in peft.Trainable)
                    failures.Add(Compare("param_step_1." + p.Name, p.Value, expected["param_step_1." + p.Name], Tolerance(caseJson, "param_step_1")));
            optimizer.ZeroGrad();
        }
        using (Tensors.Autograd.GradMode.NoGrad())
        {
            var logits = peft.Forward(batch, ForwardContext.Inference).Logits;
            failures.Add(Compare("logits_final", logits, expected["logits_final"], Tolerance(caseJson, "logits_final")));
        }
        return failures;
    }

    /// <summary>Null when <paramref name="actual"/> is within tolerance, else a line naming the tensor and the miss.</summary>
    public static string? Compare(string name, Tensor actual, Tensor expected, (double Rtol, double Atol) tol)
    {
        var (worst, scale) = Difference(actual, expected);
        if (double.IsNaN(worst)) return $"{name}: {actual.Size} elements, expected {expected.Size}";
        return worst <= tol.Atol + tol.Rtol * scale ? null : $"{name}: max |diff| {worst:G3} > {tol.Atol:G2} + {tol.Rtol:G2}·{scale:G3}";
    }

    public static void AssertClose(float[] expected, float[] actual, double tolerance, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        var worst = expected.Zip(actual, (e, a) => Math.Abs(e - a)).DefaultIfEmpty().Max();
        Assert.True(worst <= tolerance, $"{what}: max |diff| {worst:G3} > {tolerance:G3}");
    }

    /// <summary>max |actual − expected| and max |expected| (NaN when the sizes differ).</summary>
    public static (double MaxDiff, double Scale) Difference(Tensor actual, Tensor expected)
    {
        var a = actual.ToArray();
        var e = expected.ToArray();
        if (a.Length != e.Length) return (double.NaN, double.NaN);
        double worst = 0, scale = 0;
        for (var i = 0; i < a.Length; i++)
        {
            worst = Math.Max(worst, Math.Abs(a[i] - e[i]));
            scale = Math.Max(scale, Math.Abs(e[i]));
        }
        return (worst, scale);
    }
}
