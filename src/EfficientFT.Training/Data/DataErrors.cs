namespace EfficientFT.Training.Data;

internal static class DataErrors
{
    public static InvalidDataException At(string path, long line, string message) => new($"{path}:{line}: {message}");
}
