using System.Text.Json;
using System.Text.Json.Nodes;

namespace EfficientFT.Models.Configs;

/// <summary>
/// Typed reads from a config.json object. A key that is absent or JSON null takes the default, as in transformers;
/// a value of the wrong type is an error naming the file and the key.
/// </summary>
internal sealed class ConfigReader(JsonObject json, string file)
{
    public JsonObject Json { get; } = json;

    public string File { get; } = file;

    public bool Has(string key) => Json[key] is not null;

    public int Int(string key, int fallback) => OptionalInt(key) ?? fallback;

    public int? OptionalInt(string key) => Read(key, "an integer", (JsonValue v, out int x) =>
    {
        // transformers' own writer turns ints into floats nowhere, but hand-edited configs say 8192.0.
        if (v.TryGetValue(out x)) return true;
        if (v.TryGetValue(out double d) && d == Math.Floor(d) && d is >= int.MinValue and <= int.MaxValue)
        {
            x = (int)d;
            return true;
        }
        return false;
    });

    public double Double(string key, double fallback) => OptionalDouble(key) ?? fallback;

    public double? OptionalDouble(string key) => Read(key, "a number", (JsonValue v, out double x) => v.TryGetValue(out x));

    public bool Bool(string key, bool fallback) => Read(key, "true or false", (JsonValue v, out bool x) => v.TryGetValue(out x)) ?? fallback;

    public string? OptionalString(string key)
    {
        var node = Json[key];
        if (node is null) return null;
        if (node is JsonValue v && v.TryGetValue(out string? s)) return s;
        throw Error($"\"{key}\" is {node.ToJsonString()}, not a string.");
    }

    public string String(string key, string fallback) => OptionalString(key) ?? fallback;

    /// <summary>An int or a list of ints (LLaMA 3's eos_token_id is a list), as a list; absent gives the fallback.</summary>
    public IReadOnlyList<int> IntOrIntList(string key, int? fallback)
    {
        var node = Json[key];
        if (node is null) return fallback is { } f ? [f] : [];
        if (node is JsonArray array)
            return array.Select((item, i) => item is JsonValue v && v.TryGetValue(out int x)
                ? x
                : throw Error($"\"{key}\"[{i}] is {item?.ToJsonString() ?? "null"}, not an integer.")).ToArray();
        return [OptionalInt(key)!.Value];
    }

    public IReadOnlyList<string> StringList(string key)
    {
        var node = Json[key];
        if (node is null) return [];
        if (node is not JsonArray array) throw Error($"\"{key}\" is {node.ToJsonString()}, not a list of strings.");
        return array.Select((item, i) => item is JsonValue v && v.TryGetValue(out string? s)
            ? s
            : throw Error($"\"{key}\"[{i}] is {item?.ToJsonString() ?? "null"}, not a string.")).ToArray();
    }

    public ModelConfigException Error(string message, Exception? inner = null) => new(File, message, inner);

    private delegate bool TryRead<T>(JsonValue value, out T result);

    private T? Read<T>(string key, string expected, TryRead<T> tryRead) where T : struct
    {
        var node = Json[key];
        if (node is null) return null;
        if (node is JsonValue v && (v.GetValueKind() is JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False) && tryRead(v, out var x))
            return x;
        throw Error($"\"{key}\" is {node.ToJsonString()}, not {expected}.");
    }
}
