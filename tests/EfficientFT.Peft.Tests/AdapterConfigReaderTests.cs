namespace EfficientFT.Peft.Tests;

/// <summary>adapter_config.json files that peft would not have written are refused with the file and the field.</summary>
public sealed class AdapterConfigReaderTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("eft-adapter-config-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Theory]
    [InlineData("\"target_modules\": [\"query\", null]", "target_modules holds a null")]
    [InlineData("\"target_modules\": [\"query\"], \"layers_to_transform\": [0, null]", "layers_to_transform holds a null")]
    [InlineData("\"target_modules\": [\"query\"], \"r\": \"eight\"", "adapter_config.json")]
    public void ANullOrMistypedField_IsRefusedNamingTheFile(string fields, string expected)
    {
        var path = Path.Combine(_dir, "adapter_config.json");
        File.WriteAllText(path, $"{{\"peft_type\": \"LORA\", \"lora_alpha\": 16, {fields}}}");
        var error = Assert.Throws<InvalidDataException>(() => AdapterConfigReader.Read(path));
        Assert.StartsWith(path + ":", error.Message);
        Assert.Contains(expected, error.Message);
    }
}
