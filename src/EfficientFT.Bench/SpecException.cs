namespace EfficientFT.Bench;

/// <summary>A benchmark spec that cannot run, with where it goes wrong: "file:line:column: key: message".</summary>
public sealed class SpecException(string file, int line, int column, string key, string problem)
    : Exception(line > 0 ? $"{file}:{line}:{column}: {key}: {problem}" : $"{file}: {key}: {problem}")
{
    public string File { get; } = file;

    /// <summary>1-based; 0 when the problem has no place in the file (a command-line override).</summary>
    public int Line { get; } = line;

    public int Column { get; } = column;

    public string Key { get; } = key;

    public string Problem { get; } = problem;
}
