using EfficientFT.Models.SafeTensors;
using EfficientFT.Tensors;

namespace EfficientFT.Models.Tests.Models;

/// <summary>The golden cases of tests/fixtures/peft (transformers 4.46.3 + peft 0.15.1, float32, one thread).</summary>
internal static class Fixtures
{
    public static string PeftRoot => Path.Combine(AppContext.BaseDirectory, "fixtures", "peft");

    public static string Case(string name) => Path.Combine(PeftRoot, name);

    public static IEnumerable<string> CaseNames() =>
        Directory.GetDirectories(PeftRoot).Select(Path.GetFileName).Where(n => n!.Contains("__")).Order(StringComparer.Ordinal)!;

    public static Dictionary<string, Tensor> Expected(string caseName) =>
        SafeTensorsFile.LoadAll(Path.Combine(Case(caseName), "expected.safetensors"));

    /// <summary>
    /// The fixtures' rule: max |actual − expected| ≤ atol + rtol · max |expected|, per tensor. Returns null on
    /// success, else the tensor's name and the worst difference.
    /// </summary>
    public static string? Compare(string name, Tensor actual, Tensor expected, double rtol, double atol)
    {
        if (actual.Size != expected.Size)
            return $"{name}: {actual.Size} elements, expected {expected.Size} ({Shapes.Format(actual.Shape)} vs {Shapes.Format(expected.Shape)})";
        var a = actual.ToArray();
        var e = expected.ToArray();
        double worst = 0, scale = 0;
        for (var i = 0; i < a.Length; i++)
        {
            worst = Math.Max(worst, Math.Abs(a[i] - e[i]));
            scale = Math.Max(scale, Math.Abs(e[i]));
        }
        return worst <= atol + rtol * scale ? null : $"{name}: max |diff| {worst:G3} > {atol:G2} + {rtol:G2}·{scale:G3}";
    }
}
