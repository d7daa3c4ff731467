using EfficientFT.Tensors;
using Xunit.Abstractions;

namespace EfficientFT.Training.Tests;

/// <summary>
/// Collects tensor comparisons, prints every max difference to the test output, and fails once at the end listing
/// all the misses, so one run shows the whole picture.
/// </summary>
internal sealed class Comparisons(ITestOutputHelper output)
{
    private readonly List<string> _failures = [];

    public void Check(string name, Tensor actual, Tensor expected, (double Rtol, double Atol) tolerance)
    {
        output.WriteLine($"{name}: max |diff| {FixtureCase.Difference(actual, expected).MaxDiff:G3}");
        if (FixtureCase.Compare(name, actual, expected, tolerance) is { } failure) _failures.Add(failure);
    }

    public void AssertAll() => Assert.True(_failures.Count == 0, string.Join("\n", _failures));
}
