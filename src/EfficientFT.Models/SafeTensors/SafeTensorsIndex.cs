using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using EfficientFT.Models.IO;

namespace EfficientFT.Models.SafeTensors;

/// <summary>
/// The index of a sharded checkpoint, <c>model.safetensors.index.json</c>:
/// <c>{"metadata": {"total_size": bytes, ...}, "weight_map": {tensor: shard file}}</c>.
/// </summary>
public sealed class SafeTensorsIndex
{
    public SafeTensorsIndex(IReadOnlyDictionary<string, string> weightMap, long? totalSize, JsonObject? metadata = null)
    {
        WeightMap = weightMap;
        TotalSize = totalSize;
        Metadata = metadata ?? new JsonObject();
    }

    /// <summary>Tensor name → shard file name (relative to the index's directory).</summary>
    public IReadOnlyDictionary<string, string> WeightMap { get; }

    /// <summary>The sum of the tensors' byte sizes (headers excluded), when the index states it.</summary>
    public long? TotalSize { get; }

    /// <summary>The <c>metadata</c> object apart from <c>total_size</c>, kept so a rewrite loses nothing.</summary>
    public JsonObject Metadata { get; }

    /// <summary>The distinct shard files, in the order of their first tensor by name.</summary>
    public IReadOnlyList<string> Files =>
        WeightMap.OrderBy(kv => kv.Key, CodePointComparer.Instance).Select(kv => kv.Value).Distinct().ToArray();

    public static SafeTensorsIndex Load(string path)
    {
        JsonNode? root;
        try
        {
            // A tensor listed twice in weight_map would otherwise load from whichever shard came last.
            root = JsonNode.Parse(File.ReadAllText(path), documentOptions: new JsonDocumentOptions { AllowDuplicateProperties = false });
        }
        catch (JsonException e)
        {
            throw new SafeTensorsFormatException(path, null, $"the index is not valid JSON: {e.Message}", e);
        }
        if (root is not JsonObject obj)
            throw new SafeTensorsFormatException(path, null, "the index is not a JSON object.");
        if (obj["weight_map"] is not JsonObject map)
            throw new SafeTensorsFormatException(path, null, "the index has no \"weight_map\" object.");

        var weightMap = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (tensor, value) in map)
        {
            if (value is not JsonValue v || !v.TryGetValue<string>(out var file))
                throw new SafeTensorsFormatException(path, tensor, "its weight_map entry is not a file name string.");
            if (file.Length == 0 || Path.IsPathRooted(file) || file.Split('/', '\\').Any(part => part is "" or "." or ".."))
                throw new SafeTensorsFormatException(path, tensor, $"weight_map names '{file}', which is not a file beside the index.");
            weightMap[tensor] = file;
        }

        var metadata = new JsonObject();
        long? totalSize = null;
        if (obj["metadata"] is JsonObject meta)
        {
            foreach (var (key, value) in meta)
            {
                if (key == "total_size") totalSize = ReadTotalSize(value, path);
                else metadata[key] = value?.DeepClone();
            }
        }
        else if (obj["metadata"] is not null)
            throw new SafeTensorsFormatException(path, null, "\"metadata\" is not a JSON object.");
        return new SafeTensorsIndex(weightMap, totalSize, metadata);
    }

    /// <summary>Writes the index as transformers does (<c>json.dumps(indent=2, sort_keys=True)</c> plus a newline), atomically.</summary>
    public void Save(string path)
    {
        AtomicFile.Write(path, stream =>
        {
            using (var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
            {
                json.WriteStartObject();
                json.WriteStartObject("metadata");
                var keys = Metadata.Select(kv => kv.Key);
                if (TotalSize != null) keys = keys.Append("total_size");
                foreach (var key in keys.Order(CodePointComparer.Instance))
                {
                    json.WritePropertyName(key);
                    if (key == "total_size") json.WriteNumberValue(TotalSize!.Value);
                    else if (Metadata[key] is { } node) node.WriteTo(json);
                    else json.WriteNullValue();
                }
                json.WriteEndObject();
                json.WriteStartObject("weight_map");
                foreach (var name in WeightMap.Keys.Order(CodePointComparer.Instance)) json.WriteString(name, WeightMap[name]);
                json.WriteEndObject();
                json.WriteEndObject();
            }
            stream.WriteByte((byte)'\n');
        });
    }

    private static long ReadTotalSize(JsonNode? value, string path)
    {
        // Some writers emit total_size as a float (e.g. 1234.0); the value is still a byte count.
        if (value is JsonValue v)
        {
            if (v.TryGetValue<long>(out var l)) return l;
            if (v.TryGetValue<double>(out var d) && d >= 0 && d == Math.Floor(d)) return (long)d;
        }
        throw new SafeTensorsFormatException(path, null, $"metadata.total_size is {value?.ToJsonString() ?? "null"}, not a byte count.");
    }
}
