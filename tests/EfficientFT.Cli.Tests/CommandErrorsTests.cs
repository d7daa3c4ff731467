using EfficientFT.Cli.Commands;
using EfficientFT.Tensors.Linalg;

namespace EfficientFT.Cli.Tests;

/// <summary>Which failures reach the user as one line and exit code 2, and which stay bugs with their trace.</summary>
[Collection("console")]
public sealed class CommandErrorsTests
{
    private static (int Code, string Error) Run(Exception thrown)
    {
        using var error = new ErrorCapture();
        return (CommandErrors.Run(() => throw thrown), error.ToString());
    }

    public static TheoryData<Exception, string> UserFailures => new()
    {
        { new DllNotFoundException("EFT_GEMM=openblas, but libopenblas.so.0 is not installed."), "libopenblas" },
        { new LapackException("sgesdd", 3, "sgesdd did not converge (info=3)."), "did not converge" },
        { new OutOfMemoryException(), "out of memory" },
    };

    [Theory]
    [MemberData(nameof(UserFailures))]
    public void AFailureTheUserCanMend_IsOneLineAndExitCode2(Exception thrown, string said)
    {
        var (code, error) = Run(thrown);
        Assert.Equal(2, code);
        Assert.StartsWith("eft: error: ", error);
        Assert.Contains(said, error);
        Assert.Single(error.TrimEnd().Split('\n'));
    }

    /// <summary>A LAPACK call we got wrong (a negative info) is a bug: it keeps its stack trace.</summary>
    [Fact]
    public void ALapackArgumentError_IsABugAndPropagates() =>
        Assert.Throws<LapackException>(() => CommandErrors.Run(() => throw new LapackException("sgesdd", -4, "bug")));
}
