namespace EfficientFT.Models.Configs;

/// <summary>A config.json that cannot be read: bad JSON, a value of the wrong type, or an unsupported model type.</summary>
public sealed class ModelConfigException : Exception
{
    public ModelConfigException(string file, string message, Exception? innerException = null)
        : base($"{file}: {message}", innerException)
    {
        File = file;
    }

    /// <summary>The config file (or the name given for in-memory JSON).</summary>
    public string File { get; }
}
