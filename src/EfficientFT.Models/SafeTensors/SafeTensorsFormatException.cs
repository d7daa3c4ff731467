namespace EfficientFT.Models.SafeTensors;

/// <summary>
/// A safetensors file (or a sharded checkpoint's index) breaks the format. The message names the file and, where one
/// is to blame, the tensor.
/// </summary>
public sealed class SafeTensorsFormatException : Exception
{
    public SafeTensorsFormatException(string file, string? tensor, string message, Exception? innerException = null)
        : base(tensor == null ? $"{file}: {message}" : $"{file}: tensor '{tensor}': {message}", innerException)
    {
        File = file;
        Tensor = tensor;
    }

    /// <summary>The file that is malformed.</summary>
    public string File { get; }

    /// <summary>The tensor whose header entry or data is at fault, or null when the fault is the file's.</summary>
    public string? Tensor { get; }
}
