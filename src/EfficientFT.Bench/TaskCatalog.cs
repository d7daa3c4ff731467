using EfficientFT.Training.Data;

namespace EfficientFT.Bench;

/// <summary>A task's examples: the training split and each evaluation split in the task's order.</summary>
public sealed record TaskData(GlueTask Task, IReadOnlyList<TextExample> Train, IReadOnlyList<(string Split, IReadOnlyList<TextExample> Examples)> Evaluation);

/// <summary>
/// Finds a task by the name a spec gives: a path to a custom task.json (or a directory holding one) with
/// train.{jsonl,csv} and one {split}.{jsonl,csv} per evaluation split beside it; an embedded task
/// (ASSETS/tasks/NAME/task.json, same layout); or a GLUE task (cola, sst2, mrpc, stsb, qqp, mnli, qnli, rte) in the
/// original GLUE layout under the GLUE directory (CoLA/train.tsv and dev.tsv, …; MNLI dev_matched.tsv and
/// dev_mismatched.tsv). Loaded tasks are kept, as every run of a grid reads the same few.
/// </summary>
public sealed class TaskCatalog(string assetsDirectory, string? glueDirectory)
{
    private static readonly Dictionary<string, string> GlueFolders = new(StringComparer.OrdinalIgnoreCase)
    {
        ["cola"] = "CoLA", ["sst2"] = "SST-2", ["mrpc"] = "MRPC", ["stsb"] = "STS-B", ["qqp"] = "QQP",
        ["mnli"] = "MNLI", ["qnli"] = "QNLI", ["rte"] = "RTE",
    };

    private readonly Dictionary<string, TaskData> _loaded = new(StringComparer.Ordinal);

    public string AssetsDirectory { get; } = assetsDirectory;

    public string? GlueDirectory { get; } = glueDirectory;

    /// <summary>The embedded tasks' names (directories of ASSETS/tasks holding a task.json).</summary>
    public IReadOnlyList<string> EmbeddedNames => Directory.Exists(Path.Combine(AssetsDirectory, "tasks"))
        ? Directory.EnumerateDirectories(Path.Combine(AssetsDirectory, "tasks"))
            .Where(d => File.Exists(Path.Combine(d, "task.json"))).Select(Path.GetFileName).OfType<string>().Order(StringComparer.Ordinal).ToList()
        : [];

    /// <summary>Reads (once) and returns the task; a missing or malformed task throws with what was looked for.</summary>
    public TaskData Load(string name)
    {
        if (_loaded.TryGetValue(name, out var known)) return known;
        var data = Read(name);
        _loaded[name] = data;
        return data;
    }

    private TaskData Read(string name)
    {
        if (name.EndsWith(".json", StringComparison.OrdinalIgnoreCase) && File.Exists(name)) return ReadCustom(name);
        if (Directory.Exists(name) && File.Exists(Path.Combine(name, "task.json"))) return ReadCustom(Path.Combine(name, "task.json"));
        var embedded = Path.Combine(AssetsDirectory, "tasks", name, "task.json");
        if (!name.Contains('/') && !name.Contains('\\') && File.Exists(embedded)) return ReadCustom(embedded);
        if (GlueFolders.TryGetValue(name, out var folder))
        {
            if (GlueDirectory == null)
                throw new ArgumentException($"'{name}' is a GLUE task; give the GLUE data directory with --glue-dir.");
            return ReadGlue(GlueTasks.Get(name), Path.Combine(GlueDirectory, folder));
        }
        throw new ArgumentException($"unknown task '{name}': not a task.json path, not an embedded task ({string.Join(", ", EmbeddedNames)} in {Path.Combine(AssetsDirectory, "tasks")}), not a GLUE task ({string.Join(", ", GlueFolders.Keys)}).");
    }

    private static TaskData ReadCustom(string taskJson)
    {
        var task = CustomTaskReader.Read(taskJson);
        var dir = Path.GetDirectoryName(Path.GetFullPath(taskJson))!;
        IReadOnlyList<TextExample> Split(string split)
        {
            var jsonl = Path.Combine(dir, split + ".jsonl");
            if (File.Exists(jsonl)) return JsonlExampleReader.Read(task, jsonl);
            var csv = Path.Combine(dir, split + ".csv");
            if (File.Exists(csv)) return CsvExampleReader.Read(task, csv);
            throw new FileNotFoundException($"{taskJson}: no {split}.jsonl or {split}.csv beside it.", jsonl);
        }
        return Checked(new TaskData(task, Split("train"), task.EvaluationSplits.Select(s => (s, Split(s))).ToList()), taskJson);
    }

    private static TaskData ReadGlue(GlueTask task, string dir)
    {
        IReadOnlyList<TextExample> Tsv(string file)
        {
            var path = Path.Combine(dir, file);
            return File.Exists(path) ? GlueTsvReader.Read(task, path) : throw new FileNotFoundException($"{path}: missing (GLUE layout: {Path.GetFileName(dir)}/train.tsv, dev.tsv).", path);
        }
        var evaluation = task.Name == "mnli"
            ? new List<(string, IReadOnlyList<TextExample>)> { ("validation_matched", Tsv("dev_matched.tsv")), ("validation_mismatched", Tsv("dev_mismatched.tsv")) }
            : [("validation", Tsv("dev.tsv"))];
        return Checked(new TaskData(task, Tsv("train.tsv"), evaluation), dir);
    }

    private static TaskData Checked(TaskData data, string where)
    {
        if (data.Train.Count == 0) throw new InvalidDataException($"{where}: the training split has no examples.");
        foreach (var (split, examples) in data.Evaluation)
            if (examples.Count == 0) throw new InvalidDataException($"{where}: evaluation split {split} has no examples.");
        return data;
    }
}
