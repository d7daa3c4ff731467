namespace EfficientFT.Bench;

/// <summary>What <see cref="ResultsMerge.Merge"/> did.</summary>
public sealed record MergeOutcome(int Copied, int AlreadyThere, IReadOnlyList<string> Conflicts);

/// <summary>
/// Unions the runs/ of several results directories (shards run apart) into one. A run present in several with the
/// same outcome (status, scores, losses) is kept once, whatever its timings; a failed run gives way to the same run
/// ended elsewhere; any other difference of outcome is a conflict and nothing is written.
/// </summary>
public static class ResultsMerge
{
    public static MergeOutcome Merge(string output, IReadOnlyList<string> inputs)
    {
        // Every input is checked before the output is created: a typo must not leave an empty results directory.
        foreach (var input in inputs)
            if (!Directory.Exists(Path.Combine(input, "runs"))) throw new DirectoryNotFoundException($"{input}: no runs/ directory (not a results directory).");
        var target = new ResultsStore(output);
        var chosen = new Dictionary<string, (RunRecord Record, string Path)>(StringComparer.Ordinal);
        foreach (var file in Directory.EnumerateFiles(target.RunsDirectory, "*.json"))
        {
            var record = RunRecordJson.Read(file);
            chosen[record.Id] = (record, file);
        }
        var existing = chosen.ToDictionary(kv => kv.Key, kv => kv.Value.Record, StringComparer.Ordinal);
        var conflicts = new List<string>();
        var same = 0;
        foreach (var input in inputs)
        {
            var runs = Path.Combine(input, "runs");
            foreach (var file in Directory.EnumerateFiles(runs, "*.json").Order(StringComparer.Ordinal))
            {
                var record = RunRecordJson.Read(file);
                if (!chosen.TryGetValue(record.Id, out var kept))
                {
                    chosen[record.Id] = (record, file);
                    continue;
                }
                var reconciled = Reconcile(kept.Record, record);
                if (reconciled == null) conflicts.Add($"{record.Id}: {kept.Path} ({kept.Record.Status}, headline {kept.Record.Headline}) vs {file} ({record.Status}, headline {record.Headline})");
                else if (ReferenceEquals(reconciled, kept.Record)) same++;
                else chosen[record.Id] = (record, file);
            }
        }
        if (conflicts.Count > 0) return new MergeOutcome(0, same, conflicts);
        var copied = 0;
        foreach (var (id, (record, _)) in chosen)
        {
            if (existing.TryGetValue(id, out var there) && ReferenceEquals(there, record)) continue;
            target.Write(record);
            copied++;
        }
        var spec = inputs.Select(i => Path.Combine(i, "spec.yaml")).FirstOrDefault(File.Exists);
        if (spec != null && !File.Exists(Path.Combine(output, "spec.yaml"))) target.SaveSpec(File.ReadAllText(spec));
        return new MergeOutcome(copied, same, []);
    }

    /// <summary>
    /// Of two records of one run, the one to keep (the first when they say the same), or null when they disagree on how
    /// it ended. A failed run's record gives way to one that ended: a failure is an accident of its process (memory, a
    /// full disk), which --retry-failed exists to make good, possibly in another directory; of two failures the later
    /// is kept, as the more recent attempt.
    /// </summary>
    public static RunRecord? Reconcile(RunRecord a, RunRecord b) =>
        SameOutcome(a, b) ? a
        : (a.Status == RunStatus.Failed, b.Status == RunStatus.Failed) switch
        {
            (true, false) => b,
            (false, true) => a,
            (true, true) => b.FinishedAt > a.FinishedAt ? b : a,
            _ => null,
        };

    private static bool SameOutcome(RunRecord a, RunRecord b) =>
        a.Status == b.Status && a.Headline.Equals(b.Headline)
        && a.Scores.Count == b.Scores.Count && a.Scores.All(kv => b.Scores.TryGetValue(kv.Key, out var v) && v.Equals(kv.Value))
        && a.Losses.SequenceEqual(b.Losses);
}
