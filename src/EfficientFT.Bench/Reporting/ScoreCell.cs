namespace EfficientFT.Bench.Reporting;

/// <summary>
/// The runs of one configuration on one task: the completed runs' headline scores ×100 pooled over seeds, and how
/// many runs diverged or failed, or completed with no defined score (Pearson's r of a constant prediction is NaN):
/// shown in the cell, never dropped.
/// </summary>
/// <param name="CodeVersions">How many versions of the code made the completed runs: a fix that changes results keeps
/// a run's id, so a rerun over old results can pool runs that computed differently, and the cell says so.</param>
public sealed record ScoreCell(IReadOnlyList<double> Scores, int Runs, int Diverged, int Failed, int Undefined, int CodeVersions = 1)
{
    /// <summary>Completed runs with a score; those without one are <see cref="Undefined"/>.</summary>
    public int Completed => Scores.Count;

    public bool HasScore => Scores.Count > 0;

    public double Mean => Scores.Count == 0 ? double.NaN : Scores.Average();

    /// <summary>Sample standard deviation over seeds (n − 1); 0 for a single seed.</summary>
    public double Std
    {
        get
        {
            if (Scores.Count < 2) return 0;
            var mean = Mean;
            return Math.Sqrt(Scores.Sum(x => (x - mean) * (x - mean)) / (Scores.Count - 1));
        }
    }

    public static ScoreCell Of(IReadOnlyList<RunRecord> runs)
    {
        var completed = runs.Where(r => r.Status == RunStatus.Completed).ToList();
        var scores = completed.Where(r => r.Headline is double h && double.IsFinite(h)).Select(r => r.Headline!.Value * 100).ToList();
        return new ScoreCell(scores, runs.Count, runs.Count(r => r.Status == RunStatus.Diverged),
            runs.Count(r => r.Status == RunStatus.Failed), completed.Count - scores.Count, Math.Max(1, completed.Select(r => r.CodeVersion).Distinct().Count()));
    }

    /// <summary>"85.20 ± 0.31" (the mean alone for one seed); null without a completed run.</summary>
    public string? Value => !HasScore ? null : Completed > 1 ? $"{Format.Score(Mean)} ± {Format.Score(Std)}" : Format.Score(Mean);

    /// <summary>"n=2" when fewer than <paramref name="expectedSeeds"/> seeds completed, and the diverged, failed and unscored shares.</summary>
    public IReadOnlyList<string> Notes(int expectedSeeds)
    {
        var notes = new List<string>();
        if (HasScore && Completed != expectedSeeds) notes.Add($"n={Completed}");
        if (Diverged > 0) notes.Add($"diverged {Diverged}/{Runs}");
        if (Failed > 0) notes.Add($"failed {Failed}/{Runs}");
        if (Undefined > 0) notes.Add($"no score {Undefined}/{Runs}");
        if (CodeVersions > 1) notes.Add($"{CodeVersions} code versions");
        return notes;
    }

    /// <summary>The value and notes in one line, "—" for an empty cell.</summary>
    public string Text(int expectedSeeds)
    {
        var parts = Notes(expectedSeeds).Prepend(Value).OfType<string>().ToList();
        return parts.Count == 0 ? "—" : string.Join(" · ", parts);
    }
}
