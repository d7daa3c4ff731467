namespace EfficientFT.Training.Data;

internal static class HeaderColumns
{
    /// <returns>The column indices of the text and label; Second is -1 for single-sentence tasks.</returns>
    public static (int First, int Second, int Label) Locate(
        IReadOnlyList<string> header, string first, string? second, string label, string path, long line) =>
        (Find(header, first, path, line),
         second is null ? -1 : Find(header, second, path, line),
         Find(header, label, path, line));

    private static int Find(IReadOnlyList<string> header, string name, string path, long line)
    {
        for (var i = 0; i < header.Count; i++)
        {
            if (header[i] == name)
            {
                return i;
            }
        }

        throw DataErrors.At(path, line, $"no column '{name}' in header ({string.Join(", ", header)}).");
    }
}
