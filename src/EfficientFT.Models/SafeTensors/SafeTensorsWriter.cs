using System.Buffers.Binary;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.RegularExpressions;
using EfficientFT.Models.IO;
using EfficientFT.Tensors;

namespace EfficientFT.Models.SafeTensors;

/// <summary>
/// Writes safetensors files the way the reference library does, byte for byte: tensors ordered by descending dtype
/// alignment then by name, a compact JSON header with <c>__metadata__</c> first, padded with spaces to a multiple of
/// 8 bytes so every tensor's data is aligned. Every file is written atomically (temporary file, then rename).
/// </summary>
public static partial class SafeTensorsWriter
{
    /// <summary>Saves float32 tensors as <see cref="SafeTensorsSaveOptions.DType"/> to one file.</summary>
    public static void Save(string path, IEnumerable<KeyValuePair<string, Tensor>> tensors, SafeTensorsSaveOptions? options = null)
    {
        options ??= new SafeTensorsSaveOptions();
        Save(path, ToEntries(tensors, options.DType), options.Metadata);
    }

    /// <summary>Saves entries of any dtype to one file.</summary>
    public static void Save(string path, IEnumerable<SafeTensorsEntry> entries, IReadOnlyDictionary<string, string>? metadata = null)
    {
        DTypeConversion.EnsureLittleEndian();
        var ordered = Order(entries);
        var header = BuildHeader(ordered, metadata);
        AtomicFile.Write(path, stream =>
        {
            Span<byte> length = stackalloc byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)header.Length);
            stream.Write(length);
            stream.Write(header);
            foreach (var entry in ordered) entry.WriteData(stream);
        });
    }

    /// <summary>
    /// Saves float32 tensors into <paramref name="directory"/> as transformers' <c>save_pretrained</c> does: one
    /// <c>{prefix}.safetensors</c> when everything fits in <see cref="SafeTensorsSaveOptions.MaxShardBytes"/>,
    /// otherwise <c>{prefix}-0000k-of-0000n.safetensors</c> shards plus <c>{prefix}.safetensors.index.json</c>.
    /// Returns the files written, index last.
    /// </summary>
    public static IReadOnlyList<string> SaveSharded(string directory, IEnumerable<KeyValuePair<string, Tensor>> tensors,
        SafeTensorsSaveOptions? options = null)
    {
        options ??= new SafeTensorsSaveOptions();
        return SaveSharded(directory, ToEntries(tensors, options.DType), options);
    }

    /// <summary>Sharded save of entries of any dtype; see the float32 overload.</summary>
    public static IReadOnlyList<string> SaveSharded(string directory, IEnumerable<SafeTensorsEntry> entries, SafeTensorsSaveOptions options)
    {
        if (options.MaxShardBytes <= 0)
            throw new ArgumentOutOfRangeException(nameof(options), options.MaxShardBytes, "MaxShardBytes must be positive.");
        ArgumentException.ThrowIfNullOrEmpty(options.FilePrefix);
        var list = entries.ToList();
        CheckUnique(list);
        var shards = SplitIntoShards(list, options.MaxShardBytes);
        Directory.CreateDirectory(directory);
        var singleFile = $"{options.FilePrefix}.safetensors";
        var indexFile = $"{options.FilePrefix}.safetensors.index.json";
        var written = new List<string>();

        if (shards.Count <= 1)
        {
            var path = Path.Combine(directory, singleFile);
            Save(path, shards.Count == 0 ? [] : shards[0], options.Metadata);
            written.Add(path);
            RemoveStaleFiles(directory, options.FilePrefix, keep: new HashSet<string> { singleFile });
            return written;
        }

        // Shards are replaced one by one; an old index left beside them while they are would make a save that fails
        // halfway load as a mix of old and new shards. Without it, such a directory reads as incomplete.
        File.Delete(Path.Combine(directory, indexFile));
        var weightMap = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var k = 0; k < shards.Count; k++)
        {
            var name = $"{options.FilePrefix}-{k + 1:D5}-of-{shards.Count:D5}.safetensors";
            var path = Path.Combine(directory, name);
            Save(path, shards[k], options.Metadata);
            written.Add(path);
            foreach (var entry in shards[k]) weightMap[entry.Name] = name;
        }
        var index = new SafeTensorsIndex(weightMap, list.Sum(e => e.ByteLength));
        var indexPath = Path.Combine(directory, indexFile);
        index.Save(indexPath);
        written.Add(indexPath);
        RemoveStaleFiles(directory, options.FilePrefix, keep: written.Select(p => Path.GetFileName(p)).ToHashSet());
        return written;
    }

    /// <summary>
    /// huggingface_hub's <c>split_state_dict_into_shards</c>: fill shards in the given order, start a new one when
    /// the next tensor would tip the current one over the limit, and give a tensor larger than the limit a shard of
    /// its own.
    /// </summary>
    internal static List<List<SafeTensorsEntry>> SplitIntoShards(IEnumerable<SafeTensorsEntry> entries, long maxShardBytes)
    {
        var shards = new List<List<SafeTensorsEntry>>();
        var current = new List<SafeTensorsEntry>();
        long currentBytes = 0;
        foreach (var entry in entries)
        {
            if (entry.ByteLength > maxShardBytes)
            {
                shards.Add([entry]);
                continue;
            }
            if (currentBytes + entry.ByteLength > maxShardBytes)
            {
                shards.Add(current);
                current = [];
                currentBytes = 0;
            }
            current.Add(entry);
            currentBytes += entry.ByteLength;
        }
        if (current.Count > 0) shards.Add(current);
        return shards;
    }

    /// <summary>The padded header bytes for tensors already in file order.</summary>
    internal static byte[] BuildHeader(IReadOnlyList<SafeTensorsEntry> ordered, IReadOnlyDictionary<string, string>? metadata)
    {
        using var buffer = new MemoryStream();
        // serde_json escapes only quotes, backslashes and control characters; the relaxed encoder comes closest.
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            json.WriteStartObject();
            if (metadata != null)
            {
                json.WriteStartObject("__metadata__");
                foreach (var key in metadata.Keys.Order(CodePointComparer.Instance)) json.WriteString(key, metadata[key]);
                json.WriteEndObject();
            }
            long offset = 0;
            foreach (var entry in ordered)
            {
                json.WriteStartObject(entry.Name);
                json.WriteString("dtype", entry.DType.HeaderName());
                json.WriteStartArray("shape");
                foreach (var d in entry.Shape) json.WriteNumberValue(d);
                json.WriteEndArray();
                json.WriteStartArray("data_offsets");
                json.WriteNumberValue(offset);
                json.WriteNumberValue(offset + entry.ByteLength);
                json.WriteEndArray();
                json.WriteEndObject();
                offset += entry.ByteLength;
            }
            json.WriteEndObject();
        }
        var padding = (int)((8 - buffer.Length % 8) % 8);
        for (var i = 0; i < padding; i++) buffer.WriteByte((byte)' ');
        return buffer.ToArray();
    }

    internal static List<SafeTensorsEntry> Order(IEnumerable<SafeTensorsEntry> entries)
    {
        var list = entries.ToList();
        CheckUnique(list);
        return list.OrderByDescending(e => e.DType).ThenBy(e => e.Name, CodePointComparer.Instance).ToList();
    }

    private static IEnumerable<SafeTensorsEntry> ToEntries(IEnumerable<KeyValuePair<string, Tensor>> tensors, SafeTensorsDType dtype) =>
        tensors.Select(kv => SafeTensorsEntry.FromTensor(kv.Key, kv.Value, dtype));

    private static void CheckUnique(List<SafeTensorsEntry> entries)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var e in entries)
        {
            if (e.Name == "__metadata__")
                throw new ArgumentException("A tensor cannot be named '__metadata__': the header reserves that key.");
            if (!seen.Add(e.Name)) throw new ArgumentException($"Tensor '{e.Name}' is given twice.");
        }
    }

    /// <summary>Deletes shards and indexes of an earlier save under the same prefix that this save did not rewrite.</summary>
    private static void RemoveStaleFiles(string directory, string prefix, ISet<string> keep)
    {
        foreach (var path in Directory.EnumerateFiles(directory, prefix + "*"))
        {
            var name = Path.GetFileName(path);
            if (keep.Contains(name)) continue;
            var rest = name[prefix.Length..];
            if (rest == ".safetensors" || rest == ".safetensors.index.json" || ShardSuffix().IsMatch(rest)) File.Delete(path);
        }
    }

    [GeneratedRegex(@"^-\d{5}-of-\d{5}\.safetensors$")]
    private static partial Regex ShardSuffix();
}
