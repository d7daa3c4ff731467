using System.Globalization;

namespace EfficientFT.Bench.Reporting;

/// <summary>What a set of runs covers, for the report's header: models, tasks, seeds, outcomes, code and machines.</summary>
internal sealed record RunOverview(
    IReadOnlyList<string> Models, IReadOnlyList<string> Tasks, IReadOnlyList<ulong> Seeds, int Runs, int Completed, int Diverged,
    int Failed, IReadOnlyList<string> CodeVersions, IReadOnlyList<string> Machines, DateTimeOffset? First, DateTimeOffset? Last)
{
    public static RunOverview Of(IReadOnlyList<RunRecord> runs, ResultsTable table) => new(
        runs.Select(r => r.Settings.Model).Distinct().Order(StringComparer.Ordinal).ToList(),
        table.Tasks,
        runs.Select(r => r.Settings.Seed).Distinct().Order().ToList(),
        runs.Count,
        runs.Count(r => r.Status == RunStatus.Completed),
        runs.Count(r => r.Status == RunStatus.Diverged),
        runs.Count(r => r.Status == RunStatus.Failed),
        runs.Select(r => r.CodeVersion).Distinct().Order(StringComparer.Ordinal).ToList(),
        runs.Select(r => r.Machine ?? "unknown").Distinct().Order(StringComparer.Ordinal).ToList(),
        runs.Count > 0 ? runs.Min(r => r.FinishedAt) : null,
        runs.Count > 0 ? runs.Max(r => r.FinishedAt) : null);

    public string Outcomes => $"{Runs} ({Completed} completed, {Diverged} diverged, {Failed} failed)";

    public string Finished => First is { } a && Last is { } b
        ? a.Date == b.Date ? a.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture) : string.Create(CultureInfo.InvariantCulture, $"{a:yyyy-MM-dd} to {b:yyyy-MM-dd}")
        : "—";
}
