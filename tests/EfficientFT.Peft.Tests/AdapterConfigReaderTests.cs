namespace EfficientFT.Peft.Tests;

/// <summary>adapter_config.json files that peft would not have written are refused with the file and the field.</summary>
public sealed class AdapterConfigReaderTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("eft-adapter-config-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Theory]
    [InlineData("LORA", "\"target_modules\": [\"query\", null]", "target_modules holds a null")]
    [InlineData("LORA", "\"target_modules\": [\"query\"], \"layers_to_transform\": [0, null]", "layers_to_transform holds a null")]
    [InlineData("IA3", "\"target_modules\": [\"key\", \"output.dense\"], \"feedforward_modules\": [null]", "feedforward_modules holds a null")]
    public void ANullListItem_IsRefusedNamingTheFieldAndTheFile(string peftType, string fields, string expected)
    {
        var path = Path.Combine(_dir, "adapter_config.json");
        File.WriteAllText(path, $"{{\"peft_type\": \"{peftType}\", \"lora_alpha\": 16, {fields}}}");
        var error = Assert.Throws<InvalidDataException>(() => AdapterConfigReader.Read(path));
        Assert.StartsWith(path + ":", error.Message);
        Assert.Contains(expected, error.Message);
    }
}
