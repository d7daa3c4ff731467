using EfficientFT.Models.IO;
using EfficientFT.Tensors;

namespace EfficientFT.Models.SafeTensors;

/// <summary>
/// A checkpoint that is either one safetensors file or shards listed by a <c>*.safetensors.index.json</c>, read
/// through one API. Shards are opened (memory-mapped) the first time one of their tensors is asked for.
/// </summary>
public sealed class SafeTensorsCheckpoint : IDisposable
{
    private readonly string _directory;
    private readonly string _source;
    private readonly IReadOnlyDictionary<string, string> _weightMap;
    private readonly Dictionary<string, SafeTensorsFile> _open = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();

    private SafeTensorsCheckpoint(string source, string directory, IReadOnlyDictionary<string, string> weightMap, SafeTensorsIndex? index)
    {
        _source = source;
        _directory = directory;
        _weightMap = weightMap;
        Index = index;
    }

    /// <summary>The index of a sharded checkpoint, or null for a single file.</summary>
    public SafeTensorsIndex? Index { get; }

    /// <summary>All tensor names, sorted.</summary>
    public IReadOnlyList<string> Names => _weightMap.Keys.Order(CodePointComparer.Instance).ToArray();

    /// <summary>
    /// Opens <paramref name="path"/>: a <c>.safetensors</c> file, a <c>.safetensors.index.json</c>, or a directory
    /// holding <c>model.safetensors</c> or <c>model.safetensors.index.json</c> (the single file first, as transformers
    /// looks for it, so a folder holding both loads what transformers loads).
    /// </summary>
    public static SafeTensorsCheckpoint Open(string path)
    {
        if (Directory.Exists(path))
        {
            var index = Path.Combine(path, "model.safetensors.index.json");
            var single = Path.Combine(path, "model.safetensors");
            if (File.Exists(single)) return OpenSingle(single);
            if (File.Exists(index)) return OpenIndex(index);
            throw new FileNotFoundException($"{path}: holds neither model.safetensors.index.json nor model.safetensors.");
        }
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: no such checkpoint file.", path);
        return path.EndsWith(".index.json", StringComparison.Ordinal) ? OpenIndex(path) : OpenSingle(path);
    }

    public bool Contains(string name) => _weightMap.ContainsKey(name);

    public SafeTensorInfo GetInfo(string name) => FileOf(name).GetInfo(name);

    /// <inheritdoc cref="SafeTensorsFile.GetTensor"/>
    public Tensor GetTensor(string name) => FileOf(name).GetTensor(name);

    /// <inheritdoc cref="SafeTensorsFile.ReadInto"/>
    public void ReadInto(string name, Tensor target) => FileOf(name).ReadInto(name, target);

    /// <inheritdoc cref="SafeTensorsFile.GetInt64"/>
    public long[] GetInt64(string name) => FileOf(name).GetInt64(name);

    /// <inheritdoc cref="SafeTensorsFile.GetInt32"/>
    public int[] GetInt32(string name) => FileOf(name).GetInt32(name);

    /// <summary>Reads every tensor as float32, keyed by name.</summary>
    public Dictionary<string, Tensor> LoadAll() => Names.ToDictionary(n => n, GetTensor, StringComparer.Ordinal);

    public void Dispose()
    {
        lock (_lock)
        {
            foreach (var file in _open.Values) file.Dispose();
            _open.Clear();
        }
    }

    private static SafeTensorsCheckpoint OpenSingle(string path)
    {
        var file = SafeTensorsFile.Open(path);
        var fileName = Path.GetFileName(path);
        var map = file.Names.ToDictionary(n => n, _ => fileName, StringComparer.Ordinal);
        var checkpoint = new SafeTensorsCheckpoint(path, Path.GetDirectoryName(Path.GetFullPath(path))!, map, null);
        checkpoint._open[fileName] = file;
        return checkpoint;
    }

    private static SafeTensorsCheckpoint OpenIndex(string indexPath)
    {
        var index = SafeTensorsIndex.Load(indexPath);
        var directory = Path.GetDirectoryName(Path.GetFullPath(indexPath))!;
        foreach (var file in index.Files)
        {
            if (!File.Exists(Path.Combine(directory, file)))
            {
                var tensor = index.WeightMap.First(kv => kv.Value == file).Key;
                throw new SafeTensorsFormatException(indexPath, tensor, $"weight_map puts it in '{file}', which does not exist.");
            }
        }
        return new SafeTensorsCheckpoint(indexPath, directory, index.WeightMap, index);
    }

    private SafeTensorsFile FileOf(string name)
    {
        if (!_weightMap.TryGetValue(name, out var fileName))
            throw new KeyNotFoundException($"{_source}: no tensor named '{name}'.");
        lock (_lock)
        {
            if (_open.TryGetValue(fileName, out var open)) return open;
            var file = SafeTensorsFile.Open(Path.Combine(_directory, fileName));
            foreach (var (tensor, shard) in _weightMap)
            {
                if (shard == fileName && !file.Contains(tensor))
                {
                    file.Dispose();
                    throw new SafeTensorsFormatException(_source, tensor, $"weight_map puts it in '{fileName}', which has no such tensor.");
                }
            }
            _open[fileName] = file;
            return file;
        }
    }
}
