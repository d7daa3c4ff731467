using System.Text.Json;
using System.Text.Json.Serialization;

namespace EfficientFT.Bench;

/// <summary>
/// The JSON form of <see cref="RunRecord"/>: snake_case names, NaN and ∞ written as the strings "NaN"/"Infinity"
/// (a diverged run's losses end in one), indented for people who open the files.
/// </summary>
public static class RunRecordJson
{
    public static readonly JsonSerializerOptions Options = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DictionaryKeyPolicy = null,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        WriteIndented = true,
    };

    public static string Serialize(RunRecord record) => JsonSerializer.Serialize(record, Options);

    /// <summary>Reads one result file; a malformed file fails naming it.</summary>
    public static RunRecord Read(string path)
    {
        try
        {
            var record = JsonSerializer.Deserialize<RunRecord>(File.ReadAllText(path), Options)
                ?? throw new InvalidDataException($"{path}: empty result file.");
            // "required" makes the keys present, not their values non-null; every reader keys runs by id.
            if (string.IsNullOrEmpty(record.Id) || record.Settings is null)
                throw new InvalidDataException($"{path}: not a run result (no id or settings).");
            // A status the report does not know would count in a cell's runs under no heading.
            if (record.Status is not (RunStatus.Completed or RunStatus.Diverged or RunStatus.Failed))
                throw new InvalidDataException($"{path}: status \"{record.Status}\" is not one of {RunStatus.Completed}, {RunStatus.Diverged}, {RunStatus.Failed}.");
            return record;
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}: not a run result ({e.Message}).", e);
        }
    }

    /// <summary>Writes through a temporary file and a rename, so a killed process leaves either the whole file or none.</summary>
    public static void Write(string path, RunRecord record)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        var temp = $"{path}.{Environment.ProcessId}.tmp";
        File.WriteAllText(temp, Serialize(record));
        File.Move(temp, path, overwrite: true);
    }
}
