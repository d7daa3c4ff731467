using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;

namespace EfficientFT.Bench;

/// <summary>
/// A results directory: runs/&lt;id&gt;.json (one per finished run, written atomically; the report reads these),
/// spec.yaml (the spec that made them), events.jsonl (a line per run start and end, for people and tests; events.lock
/// beside it takes turns among writers) and work/&lt;id&gt;/ (a running run's checkpoints, removed when it finishes,
/// unless it failed: then they stay for a retry).
/// Several processes (shards, workers) may share one.
/// </summary>
public sealed class ResultsStore
{
    public ResultsStore(string root)
    {
        Root = root;
        Directory.CreateDirectory(RunsDirectory);
    }

    public string Root { get; }

    public string RunsDirectory => Path.Combine(Root, "runs");

    public string RunPath(string id) => Path.Combine(RunsDirectory, id + ".json");

    public string WorkDirectory(string id) => Path.Combine(Root, "work", id);

    /// <summary>Deletes a run's checkpoints, once a result that needs no retry is written.</summary>
    public void RemoveWork(string id)
    {
        var work = WorkDirectory(id);
        if (Directory.Exists(work)) Directory.Delete(work, recursive: true);
    }

    /// <summary>Writes spec.yaml unless it holds this text already (through a temporary file, as shards may race).</summary>
    public void SaveSpec(string text)
    {
        var path = Path.Combine(Root, "spec.yaml");
        if (File.Exists(path) && File.ReadAllText(path) == text) return;
        var temp = $"{path}.{Environment.ProcessId}.tmp";
        File.WriteAllText(temp, text);
        File.Move(temp, path, overwrite: true);
    }

    /// <summary>Each readable result's status, by run id; a file that does not parse does not count (the run is made again).</summary>
    public Dictionary<string, string> Statuses()
    {
        var statuses = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var record in ReadAll(_ => { })) statuses[record.Id] = record.Status;
        return statuses;
    }

    /// <summary>Whether a pass skips a run with a result of this status: yes, unless it failed and failures are retried.</summary>
    public static bool Skips(string status, bool retryFailed) => !(retryFailed && status == RunStatus.Failed);

    /// <summary>The ids a pass skips (see <see cref="Skips"/>).</summary>
    public HashSet<string> FinishedIds(bool retryFailed = false) =>
        Statuses().Where(kv => Skips(kv.Value, retryFailed)).Select(kv => kv.Key).ToHashSet(StringComparer.Ordinal);

    /// <summary>
    /// The results of <paramref name="ids"/> that have one, in that order: a grid's own, so that an unreadable file of
    /// another spec's run in the same directory does not stop the grid from summing up what it made.
    /// </summary>
    public IReadOnlyList<RunRecord> Read(IEnumerable<string> ids) =>
        ids.Select(RunPath).Where(File.Exists).Select(RunRecordJson.Read).ToList();

    /// <param name="unreadable">Given, a file that does not parse is passed to it and left out; otherwise it throws.</param>
    public IReadOnlyList<RunRecord> ReadAll(Action<InvalidDataException>? unreadable = null)
    {
        var records = new List<RunRecord>();
        foreach (var file in Directory.EnumerateFiles(RunsDirectory, "*.json").Order(StringComparer.Ordinal))
        {
            try
            {
                records.Add(RunRecordJson.Read(file));
            }
            catch (InvalidDataException e) when (unreadable != null)
            {
                unreadable(e);
            }
        }
        return records;
    }

    /// <summary>
    /// Removes the temporary files a killed writer left for these ids (runs/&lt;id&gt;.json.&lt;pid&gt;.tmp whose
    /// process is gone). Only this process's ids, so a shard never touches another's live write.
    /// </summary>
    public int RemoveStaleTemporaries(IEnumerable<string> ids)
    {
        var removed = 0;
        foreach (var id in ids)
        {
            foreach (var temp in Directory.EnumerateFiles(RunsDirectory, id + ".json.*.tmp"))
            {
                var pid = Path.GetFileName(temp)[(id.Length + ".json.".Length)..^".tmp".Length];
                if (int.TryParse(pid, NumberStyles.None, CultureInfo.InvariantCulture, out var p) && p != Environment.ProcessId && IsAlive(p)) continue;
                File.Delete(temp);
                removed++;
            }
        }
        return removed;
    }

    private static bool IsAlive(int pid)
    {
        try
        {
            using var process = Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }

    public void Write(RunRecord record) => RunRecordJson.Write(RunPath(record.Id), record);

    /// <summary>
    /// Claims a run for this process until disposed, or returns null while another process holds it: an exclusive lock
    /// (flock on Unix) on locks/&lt;id&gt;, which the system drops when its holder ends in any way, kill -9 included.
    /// Grids sharing a results directory (a rerun beside a worker its killed parent left, or two terminals) then split
    /// the runs between them instead of making one twice.
    /// </summary>
    public IDisposable? TryClaim(string id)
    {
        var locks = Path.Combine(Root, "locks");
        Directory.CreateDirectory(locks);
        var path = Path.Combine(locks, id);
        try
        {
            return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 1, FileOptions.DeleteOnClose);
        }
        catch (IOException) when (File.Exists(path))
        {
            return null;
        }
    }

    /// <summary>
    /// Appends {"event", "id", "pid", "time"} to events.jsonl as one whole line, also while shards and workers append
    /// at the same time.
    /// </summary>
    public void Event(string kind, string id, string? status = null)
    {
        var line = new JsonObject
        {
            ["event"] = kind, ["id"] = id, ["pid"] = Environment.ProcessId, ["time"] = DateTimeOffset.UtcNow.ToString("O", CultureInfo.InvariantCulture),
        };
        if (status != null) line["status"] = status;
        var bytes = System.Text.Encoding.UTF8.GetBytes(line.ToJsonString() + "\n");
        // .NET opens for append without O_APPEND: it takes the length at open and writes there, so two writers that
        // open together write at the same offset and one line overwrites the other. An exclusive lock on a side file
        // makes the open-and-write of each line one at a time, across processes as across threads.
        using var gate = ExclusiveLock(Path.Combine(Root, "events.lock"));
        using var stream = new FileStream(Path.Combine(Root, "events.jsonl"), FileMode.Append, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete);
        stream.Write(bytes);
    }

    /// <summary>Opens <paramref name="path"/> exclusively (flock on Unix), waiting while another writer holds it.</summary>
    private static FileStream ExclusiveLock(string path)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException) when (clock.Elapsed < LockPatience)
            {
                Thread.Sleep(1);
            }
        }
    }

    /// <summary>How long to wait for another writer's line; a line takes microseconds, so only a hung process exceeds it.</summary>
    private static readonly TimeSpan LockPatience = TimeSpan.FromSeconds(30);
}
