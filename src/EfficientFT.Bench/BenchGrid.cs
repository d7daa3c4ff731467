using EfficientFT.Models.Configs;
using EfficientFT.Models.SafeTensors;
using EfficientFT.Models.Tokenizers;
using EfficientFT.Peft;
using EfficientFT.Peft.Methods;

namespace EfficientFT.Bench;

/// <summary>
/// What a grid pass did: the shard's runs, those it skipped as finished before, those it made, those it left to another
/// process making them at the time (<see cref="ResultsStore.TryClaim"/>), and every record of the shard.
/// </summary>
public sealed record GridOutcome(int Runs, int Skipped, int Ran, bool Cancelled, IReadOnlyList<RunRecord> Records, int Busy = 0);

/// <summary>
/// Runs a shard of an expanded spec into a results directory: validates every model and task before the first run,
/// skips runs whose result exists, records each finished run at once (a killed grid loses at most the run in
/// progress, which resumes from its last checkpoint when the spec asks for checkpoints), and keeps going when a run
/// fails or diverges. A failed run keeps its checkpoints, and is made again only when asked to.
/// </summary>
public static class BenchGrid
{
    /// <summary>
    /// Every model and task the plan names must exist and read; the error names where the spec named it. A model's
    /// config, weights (their headers) and tokenizer are read here, as a bad one would otherwise fail every run of it,
    /// and so is a max_length above the tokens a row of the model may hold, which would fail every run with a long row.
    /// </summary>
    public static void Validate(BenchPlan plan, TaskCatalog tasks, BenchRunner runner)
    {
        foreach (var (model, place) in plan.Models)
        {
            ModelConfig config;
            try
            {
                var dir = runner.ModelDirectory(model);
                config = ModelConfig.Load(Path.Combine(dir, "config.json"));
                using (SafeTensorsCheckpoint.Open(dir)) { }
                Tokenizer.FromFile(Path.Combine(dir, "tokenizer.json"));
            }
            catch (Exception e) when (e is IOException or ArgumentException or UnauthorizedAccessException or InvalidDataException
                                          or ModelConfigException or SafeTensorsFormatException or TokenizerFormatException)
            {
                throw place.Error(e.Message);
            }
            if (config.MaxTokens is { } most && plan.Runs.FirstOrDefault(r => r.Settings.Model == model && r.Settings.MaxLength > most) is { } run
                && plan.MaxLengths[(model, run.Settings.MaxLength)] is var at)
                throw at.Error($"{run.Settings.MaxLength} tokens a row{(at.Line == 0 ? " (the default)" : "")} is more than model '{model}' takes ({most}); rows that long would fail its runs.");
            // RoBERTa's feed-forward block has no gate projection; every run naming it would fail at its start.
            if (config is RobertaConfig && plan.Runs.FirstOrDefault(r => r.Settings.Model == model && r.Settings.Targets.Split(',').Contains("gate")) is { } gated)
                throw plan.TargetSets[(model, gated.Settings.Targets)].Error($"'{gated.Settings.Targets}' names gate, and model '{model}' ({config.ModelType}) has no gate projection.");
            // PiSSA and OLoRA take their factors from the weight's singular vectors or its QR, so a rank above a
            // targeted layer's smaller side would fail every such run at its start.
            if (plan.Runs.Where(r => r.Settings.Model == model && PeftMethods.Create(r.Settings.Method) is Lora { FactorsTheWeight: true })
                    .FirstOrDefault(r => r.Settings.Rank > SmallestSide(config, r.Settings.Targets)) is { } tooWide)
                throw plan.Ranks[(model, tooWide.Settings.Method, tooWide.Settings.Rank)].Error($"rank {tooWide.Settings.Rank} is more than {tooWide.Settings.Method} can take on model '{model}': " +
                                                                        $"of its {tooWide.Settings.Targets} projections the narrowest has {SmallestSide(config, tooWide.Settings.Targets)} features on one side.");
        }
        foreach (var (task, place) in plan.Tasks)
        {
            try
            {
                tasks.Load(task);
            }
            catch (Exception e) when (e is IOException or ArgumentException or InvalidDataException or UnauthorizedAccessException)
            {
                throw place.Error(e.Message);
            }
        }
    }

    /// <summary>The smaller side of the narrowest projection among <paramref name="targets"/> ("q,v": short names).</summary>
    private static int SmallestSide(ModelConfig config, string targets)
    {
        var (queries, keysAndValues) = config is LlamaConfig llama
            ? (llama.NumAttentionHeads * llama.HeadDim, llama.NumKeyValueHeads * llama.HeadDim)
            : (config.HiddenSize, config.HiddenSize);
        return targets.Split(',').Min(t => Math.Min(config.HiddenSize, t switch
        {
            "q" or "o" => queries,
            "k" or "v" => keysAndValues,
            _ => config.IntermediateSize,
        }));
    }

    /// <param name="retryFailed">Make the runs whose result says they failed again, from their newest checkpoint.</param>
    public static GridOutcome Run(BenchPlan plan, Shard shard, ResultsStore store, BenchRunner runner,
        Action<RunPlan>? started = null, Action<RunPlan, RunRecord>? finished = null, CancellationToken cancellation = default,
        bool retryFailed = false)
    {
        var mine = plan.Runs.Where(r => shard.Contains(r.Index)).ToList();
        store.RemoveStaleTemporaries(mine.Select(r => r.Id));
        var statuses = store.Statuses();
        var done = mine.Select(r => r.Id)
            .Where(id => statuses.TryGetValue(id, out var status) && ResultsStore.Skips(status, retryFailed)).ToHashSet(StringComparer.Ordinal);
        var skipped = done.Count;
        // A process killed between writing a result and removing its checkpoints leaves them behind. A failed run's
        // stay: the failure may have been passing (memory, a full disk), and a retry resumes from them.
        foreach (var id in done.Where(id => statuses[id] != RunStatus.Failed)) store.RemoveWork(id);
        var ran = 0;
        var busy = 0;
        var cancelled = false;
        foreach (var run in mine.Where(r => !done.Contains(r.Id)))
        {
            if (cancellation.IsCancellationRequested)
            {
                cancelled = true;
                break;
            }
            using var claim = store.TryClaim(run.Id);
            if (claim == null)
            {
                busy++;
                continue;
            }
            // Another process may have finished the run between the statuses read above and the claim.
            if (store.Read([run.Id]) is [var recorded] && ResultsStore.Skips(recorded.Status, retryFailed))
            {
                skipped++;
                continue;
            }
            store.Event("start", run.Id);
            started?.Invoke(run);
            var work = run.Checkpoints ? store.WorkDirectory(run.Id) : null;
            var record = runner.Run(run, work, cancellation);
            if (record == null)
            {
                cancelled = true;
                break;
            }
            // Where the file system keeps no locks, another process may have completed the run meanwhile (a --jobs
            // worker orphaned by a killed parent, finishing its last step while a rerun's worker failed to restore the
            // checkpoints it removed): its result stands, rather than the failure that lost the race.
            if (record.Status == RunStatus.Failed && store.Read([run.Id]) is [{ Status: RunStatus.Completed } made])
                record = made;
            else
                store.Write(record);
            store.Event("end", run.Id, record.Status);
            if (record.Status != RunStatus.Failed) store.RemoveWork(run.Id);
            ran++;
            finished?.Invoke(run, record);
        }
        return new GridOutcome(mine.Count, skipped, ran, cancelled, store.Read(mine.Select(r => r.Id)), busy);
    }
}
