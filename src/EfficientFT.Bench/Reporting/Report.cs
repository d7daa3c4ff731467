using EfficientFT.Models.IO;

namespace EfficientFT.Bench.Reporting;

/// <summary>
/// `eft report`: reads the run results of one or more results directories (shards of one grid) and writes
/// report.md and a self-contained report.html (inline CSS and SVG, no scripts, no external references).
/// </summary>
public static class Report
{
    public const string MarkdownFile = "report.md";
    public const string HtmlFile = "report.html";

    /// <summary>
    /// Every run file under each directory's runs/ folder (or the directory itself when it has none). A run id seen
    /// twice is read once when both say the same of how it ended (timings and machine may differ: overlapping shards),
    /// or as the one that ended when the other failed, as <c>bench merge</c> keeps it; otherwise it is an error naming
    /// both files.
    /// </summary>
    /// <param name="unreadable">Given, a run file that does not parse is passed to it and left out; otherwise it throws.</param>
    public static IReadOnlyList<RunRecord> Load(IEnumerable<string> dirs, Action<InvalidDataException>? unreadable = null)
    {
        var byId = new Dictionary<string, (RunRecord Record, string Path)>(StringComparer.Ordinal);
        foreach (var dir in dirs)
        {
            if (!Directory.Exists(dir)) throw new DirectoryNotFoundException($"{dir}: no such results directory.");
            var runsDir = Path.Combine(dir, "runs");
            var files = Directory.GetFiles(Directory.Exists(runsDir) ? runsDir : dir, "*.json").Order(StringComparer.Ordinal);
            foreach (var file in files)
            {
                RunRecord record;
                try
                {
                    record = RunRecordJson.Read(file);
                }
                catch (InvalidDataException e) when (unreadable != null)
                {
                    unreadable(e);
                    continue;
                }
                if (byId.TryGetValue(record.Id, out var seen))
                {
                    var kept = ResultsMerge.Reconcile(seen.Record, record)
                               ?? throw new InvalidDataException($"run {record.Id} appears twice with different results: {seen.Path} and {file}.");
                    if (ReferenceEquals(kept, record)) byId[record.Id] = (record, file);
                    continue;
                }
                byId[record.Id] = (record, file);
            }
        }
        if (byId.Count == 0) throw new InvalidDataException($"no run results (runs/*.json) in {string.Join(", ", dirs)}.");
        return byId.Values.Select(v => v.Record).OrderBy(r => r.Id, StringComparer.Ordinal).ToList();
    }

    /// <summary>Writes report.md and report.html into <paramref name="outDir"/>, each through a temporary file and a rename.</summary>
    public static (string Markdown, string Html) Write(IReadOnlyList<RunRecord> runs, string outDir)
    {
        if (runs.Count == 0) throw new ArgumentException("no runs to report.", nameof(runs));
        var table = ResultsTable.Build(runs);
        Directory.CreateDirectory(outDir);
        var md = Path.Combine(outDir, MarkdownFile);
        var html = Path.Combine(outDir, HtmlFile);
        // Both rendered before either is written, so a failure leaves the previous pair rather than a new and an old.
        var (mdText, htmlText) = (MarkdownReport.Render(runs, table), HtmlReport.Render(runs, table));
        AtomicFile.WriteAllText(md, mdText);
        AtomicFile.WriteAllText(html, htmlText);
        return (md, html);
    }
}
