using System.Text.Json;
using System.Text.Unicode;

namespace EfficientFT.Models.SafeTensors;

/// <summary>
/// The parsed and validated JSON header of a safetensors file, with the checks of the reference Rust library
/// (<c>Metadata::validate</c>): a JSON object opening with '{', known dtypes, a byte length equal to
/// dtype size × product(shape), and data offsets that, sorted, tile the data buffer exactly from 0 to its end.
/// </summary>
internal sealed class SafeTensorsHeader
{
    /// <summary>The reference library's limit; a larger header is treated as corrupt or hostile.</summary>
    public const long MaxHeaderBytes = 100_000_000;

    private const string MetadataKey = "__metadata__";

    private SafeTensorsHeader(SafeTensorInfo[] tensors, Dictionary<string, string>? metadata)
    {
        Tensors = tensors;
        ByName = tensors.ToDictionary(t => t.Name, StringComparer.Ordinal);
        Metadata = metadata;
    }

    /// <summary>Tensors in data-buffer order.</summary>
    public IReadOnlyList<SafeTensorInfo> Tensors { get; }

    public IReadOnlyDictionary<string, SafeTensorInfo> ByName { get; }

    /// <summary>The <c>__metadata__</c> map, or null when the header has none.</summary>
    public IReadOnlyDictionary<string, string>? Metadata { get; }

    /// <summary>Parses <paramref name="json"/> and checks it against a data buffer of <paramref name="dataLength"/> bytes.</summary>
    public static SafeTensorsHeader Parse(ReadOnlySpan<byte> json, long dataLength, string file)
    {
        if (json.Length == 0 || json[0] != (byte)'{')
            throw new SafeTensorsFormatException(file, null, "the header does not start with '{'.");
        // The reference library reads the header as a Rust str; JsonDocument would only notice bad UTF-8 when (and if)
        // the string holding it is read, and then with an InvalidOperationException.
        if (!Utf8.IsValid(json))
            throw new SafeTensorsFormatException(file, null, "the header is not valid UTF-8.");

        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(json.ToArray());
        }
        catch (JsonException e)
        {
            throw new SafeTensorsFormatException(file, null, $"the header is not valid JSON: {e.Message}", e);
        }

        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
                throw new SafeTensorsFormatException(file, null, "the header is not a JSON object.");

            Dictionary<string, string>? metadata = null;
            var seen = new HashSet<string>(StringComparer.Ordinal);
            var tensors = new List<SafeTensorInfo>();
            try
            {
                foreach (var property in doc.RootElement.EnumerateObject())
                {
                    if (!seen.Add(property.Name))
                        throw new SafeTensorsFormatException(file, property.Name, "the header lists this key twice.");
                    if (property.Name == MetadataKey)
                        metadata = ParseMetadata(property.Value, file);
                    else
                        tensors.Add(ParseTensor(property.Name, property.Value, file));
                }
            }
            catch (InvalidOperationException e)
            {
                // JsonDocument unescapes a string when it is read, and an escaped unpaired surrogate ("\ud800") fails there.
                throw new SafeTensorsFormatException(file, null, $"the header holds a string that is not valid Unicode: {e.Message}", e);
            }

            var ordered = tensors.OrderBy(t => t.Begin).ThenBy(t => t.End).ToArray();
            CheckTiling(ordered, dataLength, file);
            return new SafeTensorsHeader(ordered, metadata);
        }
    }

    private static Dictionary<string, string>? ParseMetadata(JsonElement value, string file)
    {
        if (value.ValueKind == JsonValueKind.Null) return null;
        if (value.ValueKind != JsonValueKind.Object)
            throw new SafeTensorsFormatException(file, null, "__metadata__ is not a JSON object of strings.");
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var entry in value.EnumerateObject())
        {
            if (entry.Value.ValueKind != JsonValueKind.String)
                throw new SafeTensorsFormatException(file, null,
                    $"__metadata__ entry '{entry.Name}' is a JSON {entry.Value.ValueKind}, not a string.");
            if (!metadata.TryAdd(entry.Name, entry.Value.GetString()!))
                throw new SafeTensorsFormatException(file, null, $"__metadata__ lists key '{entry.Name}' twice.");
        }
        return metadata;
    }

    private static SafeTensorInfo ParseTensor(string name, JsonElement value, string file)
    {
        if (value.ValueKind != JsonValueKind.Object)
            throw new SafeTensorsFormatException(file, name, "the header entry is not a JSON object.");

        if (!value.TryGetProperty("dtype", out var dtypeElement) || dtypeElement.ValueKind != JsonValueKind.String)
            throw new SafeTensorsFormatException(file, name, "the header entry has no string \"dtype\".");
        var dtypeName = dtypeElement.GetString()!;
        if (!SafeTensorsDTypeExtensions.TryParse(dtypeName, out var dtype))
            throw new SafeTensorsFormatException(file, name,
                $"unknown dtype '{dtypeName}' (known: {SafeTensorsDTypeExtensions.KnownNames}).");

        var shape = ReadUnsignedArray(value, "shape", name, file);
        var offsets = ReadUnsignedArray(value, "data_offsets", name, file);
        if (offsets.Length != 2)
            throw new SafeTensorsFormatException(file, name, $"data_offsets has {offsets.Length} entries, not 2.");
        var (begin, end) = (offsets[0], offsets[1]);
        if (end < begin)
            throw new SafeTensorsFormatException(file, name, $"data_offsets [{begin}, {end}] end before they begin.");

        long count = 1, bytes;
        try
        {
            foreach (var d in shape) count = checked(count * d);
            bytes = checked(count * dtype.ElementSize());
        }
        catch (OverflowException)
        {
            throw new SafeTensorsFormatException(file, name, $"shape [{string.Join(", ", shape)}] overflows a 64-bit size.");
        }
        if (bytes != end - begin)
            throw new SafeTensorsFormatException(file, name,
                $"dtype {dtypeName} and shape [{string.Join(", ", shape)}] need {bytes} bytes, " +
                $"but data_offsets [{begin}, {end}] hold {end - begin}.");

        return new SafeTensorInfo(name, dtype, shape, begin, end, count);
    }

    private static long[] ReadUnsignedArray(JsonElement entry, string key, string name, string file)
    {
        if (!entry.TryGetProperty(key, out var array) || array.ValueKind != JsonValueKind.Array)
            throw new SafeTensorsFormatException(file, name, $"the header entry has no array \"{key}\".");
        var values = new long[array.GetArrayLength()];
        var i = 0;
        foreach (var item in array.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Number || !item.TryGetInt64(out var v) || v < 0)
                throw new SafeTensorsFormatException(file, name, $"\"{key}\" holds {item.GetRawText()}, not a non-negative integer.");
            values[i++] = v;
        }
        return values;
    }

    private static void CheckTiling(SafeTensorInfo[] ordered, long dataLength, string file)
    {
        long position = 0;
        SafeTensorInfo? previous = null;
        foreach (var t in ordered)
        {
            if (t.Begin < position)
                throw new SafeTensorsFormatException(file, t.Name,
                    $"data_offsets [{t.Begin}, {t.End}] overlap tensor '{previous!.Name}' at [{previous.Begin}, {previous.End}].");
            if (t.Begin > position)
                throw new SafeTensorsFormatException(file, t.Name,
                    $"data_offsets [{t.Begin}, {t.End}] leave bytes [{position}, {t.Begin}) of the data buffer to no tensor (a hole).");
            if (t.End > dataLength)
                throw new SafeTensorsFormatException(file, t.Name,
                    $"data_offsets [{t.Begin}, {t.End}] run past the end of the data buffer ({dataLength} bytes).");
            position = t.End;
            previous = t;
        }
        if (position != dataLength)
            throw new SafeTensorsFormatException(file, previous?.Name,
                $"the tensors cover {position} bytes of the data buffer, but it holds {dataLength} (a hole at the end).");
    }
}
