namespace EfficientFT.Training.Tests.Glue;

/// <summary>A temporary directory for one test's hand-made data files, removed with the test class instance.</summary>
internal sealed class GlueTempFiles : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("eft-glue-").FullName;

    public string Write(string name, string content)
    {
        var path = Path.Combine(_root, name);
        File.WriteAllText(path, content);
        return path;
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);
}
