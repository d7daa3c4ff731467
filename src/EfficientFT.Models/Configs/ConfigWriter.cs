using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using EfficientFT.Models.IO;

namespace EfficientFT.Models.Configs;

/// <summary>
/// Writes typed fields back over the config.json they were read from. A key is written when the file had it or when
/// the value differs from the default (the same keys transformers' <c>to_diff_dict</c> keeps); a value equal to what
/// the file already says keeps the file's own text, so an unchanged config is rewritten byte for byte.
/// </summary>
internal sealed class ConfigWriter(JsonObject target)
{
    public JsonObject Target { get; } = target;

    public void Set(string key, int value, int fallback) => SetCore(key, value, value == fallback, JsonValue.Create(value));

    public void Set(string key, int? value, int? fallback) =>
        SetCore(key, value, value == fallback, value is { } v ? JsonValue.Create(v) : null);

    public void Set(string key, bool value, bool fallback) => SetCore(key, value, value == fallback, JsonValue.Create(value));

    public void Set(string key, string? value, string? fallback) =>
        SetCore(key, value, value == fallback, value is null ? null : JsonValue.Create(value));

    public void Set(string key, double value, double fallback) =>
        SetCore(key, value, value.Equals(fallback), JsonNode.Parse(PythonFloat(value)));

    public void Set(string key, double? value, double? fallback) =>
        SetCore(key, value, Nullable.Equals(value, fallback), value is { } v ? JsonNode.Parse(PythonFloat(v)) : null);

    /// <summary>Writes <paramref name="node"/> unless the file already holds the same JSON.</summary>
    public void SetNode(string key, JsonNode? node, bool isDefault)
    {
        if (Target.ContainsKey(key))
        {
            if (!JsonNode.DeepEquals(Target[key], node)) Target[key] = node;
        }
        else if (!isDefault) Target[key] = node;
    }

    /// <summary>
    /// Python's <c>repr(float)</c>, which <c>json.dumps</c> uses: the shortest round-tripping digits, in exponent
    /// form when the decimal exponent is below -4 or above 16 (1e-12, 1e-05, 1e+16), otherwise positional with at
    /// least one fractional digit (0.0001, 10000.0).
    /// </summary>
    public static string PythonFloat(double value)
    {
        if (double.IsNaN(value)) return "NaN";
        if (double.IsInfinity(value)) return value > 0 ? "Infinity" : "-Infinity";
        var sign = value < 0 || (value == 0 && double.IsNegative(value)) ? "-" : "";
        var r = Math.Abs(value).ToString("R", CultureInfo.InvariantCulture);
        var e = r.IndexOf('E');
        var mantissa = e < 0 ? r : r[..e];
        var exponent = e < 0 ? 0 : int.Parse(r[(e + 1)..], CultureInfo.InvariantCulture);
        var point = mantissa.IndexOf('.');
        var digits = mantissa.Replace(".", "");
        // decpt: value = 0.digits * 10^decpt.
        var decpt = (point < 0 ? mantissa.Length : point) + exponent;
        var lead = digits.Length - digits.TrimStart('0').Length;
        digits = digits.TrimStart('0');
        decpt -= lead;
        digits = digits.TrimEnd('0');
        if (digits.Length == 0) return sign + "0.0";

        if (decpt <= -4 || decpt > 16)
        {
            var m = digits.Length == 1 ? digits : digits[0] + "." + digits[1..];
            var x = decpt - 1;
            return $"{sign}{m}e{(x < 0 ? "-" : "+")}{Math.Abs(x):D2}";
        }
        if (decpt <= 0) return $"{sign}0.{new string('0', -decpt)}{digits}";
        if (decpt >= digits.Length) return $"{sign}{digits}{new string('0', decpt - digits.Length)}.0";
        return $"{sign}{digits[..decpt]}.{digits[decpt..]}";
    }

    /// <summary>
    /// Serialises like transformers' <c>to_json_string</c> (<c>json.dumps(indent=2, sort_keys=True) + "\n"</c>):
    /// two-space indent and keys sorted at every level.
    /// </summary>
    public static void WriteSorted(JsonNode node, Stream stream)
    {
        using (var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
            Write(node, json);
        stream.WriteByte((byte)'\n');
    }

    private static void Write(JsonNode? node, Utf8JsonWriter json)
    {
        switch (node)
        {
            case null:
                json.WriteNullValue();
                break;
            case JsonObject obj:
                json.WriteStartObject();
                foreach (var (key, value) in obj.OrderBy(kv => kv.Key, CodePointComparer.Instance))
                {
                    json.WritePropertyName(key);
                    Write(value, json);
                }
                json.WriteEndObject();
                break;
            case JsonArray array:
                json.WriteStartArray();
                foreach (var item in array) Write(item, json);
                json.WriteEndArray();
                break;
            default:
                node.WriteTo(json);
                break;
        }
    }

    private void SetCore<T>(string key, T value, bool isDefault, JsonNode? node)
    {
        if (Target.ContainsKey(key))
        {
            if (!SameValue(Target[key], value)) Target[key] = node;
        }
        else if (!isDefault) Target[key] = node;
    }

    private static bool SameValue<T>(JsonNode? existing, T value)
    {
        if (existing is null || value is null) return existing is null && value is null;
        if (existing is not JsonValue v) return false;
        return value switch
        {
            int i => v.TryGetValue(out double d) && d == i,
            double x => v.TryGetValue(out double d) && d.Equals(x),
            bool b => v.TryGetValue(out bool eb) && eb == b,
            string s => v.TryGetValue(out string? es) && es == s,
            _ => false,
        };
    }
}
