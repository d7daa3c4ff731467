using EfficientFT.Models.Configs;
using EfficientFT.Models.SafeTensors;
using EfficientFT.Models.Tokenizers;
using EfficientFT.Models.Hub;
using EfficientFT.Tensors.Linalg;

namespace EfficientFT.Cli.Commands;

/// <summary>
/// Turns the failures a user can cause (a missing file, a malformed checkpoint, a bad batch) into one line on
/// stderr and exit code 2, never a stack trace. Anything else is a bug and keeps its trace.
/// </summary>
public static class CommandErrors
{
    public static int Run(Func<int> action)
    {
        try
        {
            return action();
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException or InvalidDataException
                                      or SafeTensorsFormatException or ModelConfigException or TokenizerFormatException or HubException or ArgumentException
                                      or NotSupportedException or IOException or UnauthorizedAccessException
                                      or InvalidOperationException or IndexOutOfRangeException or ArithmeticException
                                      // EFT_GEMM=openblas without the library; a factorization the input kept from converging.
                                      or DllNotFoundException or LapackException { Info: > 0 })
        {
            Console.Error.WriteLine($"eft: error: {e.Message}");
            return 2;
        }
        catch (OutOfMemoryException)
        {
            Console.Error.WriteLine("eft: error: out of memory. A smaller --batch-size, --gradient-checkpointing or --frozen-bf16 need less, where the command has them.");
            return 2;
        }
    }
}
