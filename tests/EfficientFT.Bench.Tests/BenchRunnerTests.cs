using EfficientFT.Models;
using EfficientFT.Models.Nn;
using EfficientFT.Models.Tokenizers;
using EfficientFT.Tensors.Autograd;
using EfficientFT.Training.Data;
using EfficientFT.Training;
using EfficientFT.Training.Metrics;

namespace EfficientFT.Bench.Tests;

public sealed class BenchRunnerTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("eft-bench-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private const string Spec = """
        defaults: { model: embedded, tasks: toy, max_steps: 4, batch_size: 8, max_length: 24, lr: 5e-3, seeds: [1], evaluate_every: 2 }
        grids:
          - methods: [full_ft, lora]
            targets: ["q,v"]
          - methods: [pissa]
            targets: ["q,v"]
            rank: 32
        """;

    [Fact]
    public void Trimmed_batches_give_the_same_logits()
    {
        var assets = TinyBench.CreateAssets(_dir);
        var data = new TaskCatalog(assets, null).Load("toy");
        var model = BenchRunner.LoadClassifier(Path.Combine(assets, "model"), data.Task, 5);
        var rows = BenchRunner.Tokenize(Tokenizer.FromFile(Path.Combine(assets, "model", "tokenizer.json")), data.Train, data.Task, 24);
        // The three shortest rows: the trimmed batch is narrower than the task's longest row.
        var pick = Enumerable.Range(0, rows.Batch).OrderBy(r => rows.AttentionMask.AsSpan(r * rows.Length, rows.Length).IndexOf(0) is var i and >= 0 ? i : rows.Length)
            .Take(3).ToArray();
        var full = rows.Select(pick);
        var trimmed = rows.SelectTrimmed(pick);
        Assert.True(trimmed.Length < full.Length, $"{trimmed.Length} vs {full.Length}");
        Assert.Equal(full.ClassLabels, trimmed.ClassLabels);
        using var _ = GradMode.NoGrad();
        var a = model.Forward(full, ForwardContext.Inference);
        var b = model.Forward(trimmed, ForwardContext.Inference);
        var (la, lb) = (a.Logits.Contiguous().ToArray(), b.Logits.Contiguous().ToArray());
        Assert.Equal(la.Length, lb.Length);
        for (var i = 0; i < la.Length; i++) Assert.True(Math.Abs(la[i] - lb[i]) <= 1e-6f * Math.Max(1, Math.Abs(la[i])), $"logit {i}: {la[i]} vs {lb[i]}");
        Assert.Equal(a.Loss!.Item(), b.Loss!.Item(), 6);
    }

    [Fact]
    public void A_grid_records_every_run_keeps_going_after_a_failure_and_a_rerun_skips_them()
    {
        var assets = TinyBench.CreateAssets(_dir);
        var plan = BenchSpec.Parse(Spec, "tiny.yaml", "tiny").Expand();
        var catalog = new TaskCatalog(assets, null);
        var runner = new BenchRunner(catalog);
        var store = new ResultsStore(Path.Combine(_dir, "results"));
        var stale = store.RunPath(plan.Runs[0].Id) + ".999999.tmp";
        File.WriteAllText(stale, "{ half a fi");

        var first = BenchGrid.Run(plan, Shard.All, store, runner);
        Assert.Equal((3, 0, 3), (first.Runs, first.Skipped, first.Ran));
        Assert.False(File.Exists(stale));
        var records = store.ReadAll().ToDictionary(r => r.Settings.Method + r.Settings.Targets);
        Assert.Equal(3, records.Count);
        foreach (var key in new[] { "full_ftq,v", "loraq,v" })
        {
            var r = records[key];
            Assert.Equal(RunStatus.Completed, r.Status);
            Assert.Equal(4, r.Steps);
            Assert.Equal(4, r.Losses.Count);
            Assert.Equal([2, 4], r.Evaluations.Select(e => e.Step));
            Assert.Equal("accuracy", r.HeadlineMetric);
            Assert.Equal(r.Scores["accuracy"], r.Headline);
            Assert.Contains("f1", r.Scores.Keys);
            Assert.InRange(r.Headline!.Value, 0, 1);
            Assert.True(r.PeakMemoryBytes > 0 && r.SecondsPerStep > 0 && r.TokensPerSecond > 0 && r.WallSeconds > 0);
            Assert.False(string.IsNullOrEmpty(r.CodeVersion));
            Assert.InRange(r.TrainableShare, 1e-6, 1);
        }
        Assert.True(records["loraq,v"].TrainableParameters < records["full_ftq,v"].TrainableParameters);
        // PiSSA's rank cannot exceed the tiny model's 16 hidden features: Validate refuses such a spec up front
        // (BenchSpecTests), so here, without it, the run fails at its start and the grid goes on.
        var failed = records["pissaq,v"];
        Assert.Equal(RunStatus.Failed, failed.Status);
        Assert.Contains("exceeds min(out, in)", failed.Error);

        // As a process killed after writing a result but before removing its checkpoints leaves them.
        var leftover = Path.Combine(store.WorkDirectory(plan.Runs[0].Id), "checkpoint-2");
        Directory.CreateDirectory(leftover);
        // Another spec's run in the same directory, damaged: none of this grid's business.
        File.WriteAllText(store.RunPath("other-spec-run"), "{ half a fi");
        var second = BenchGrid.Run(plan, Shard.All, store, runner);
        Assert.Equal((3, 3, 0), (second.Runs, second.Skipped, second.Ran));
        Assert.False(Directory.Exists(store.WorkDirectory(plan.Runs[0].Id)));
        Assert.Equal(3, second.Records.Count);
        // The report, which reads the whole directory, leaves the damaged file out by name.
        var unreadable = new List<string>();
        Assert.Equal(3, store.ReadAll(e => unreadable.Add(e.Message)).Count);
        Assert.Contains("other-spec-run.json", Assert.Single(unreadable));
        Assert.Throws<InvalidDataException>(() => store.ReadAll());
    }

    /// <summary>
    /// A run that failed for a passing reason (here one stopped after its checkpoint at step 2 and then recorded as out
    /// of memory) keeps its checkpoints; a plain rerun skips it, and --retry-failed makes it again from the
    /// checkpoint, which completes it and then removes them.
    /// </summary>
    [Fact]
    public void A_failed_run_keeps_its_checkpoints_and_is_made_again_from_them_only_when_asked()
    {
        var assets = TinyBench.CreateAssets(_dir);
        var plan = BenchSpec.Parse("""
            defaults: { model: embedded, tasks: toy, max_steps: 4, batch_size: 8, max_length: 24, lr: 5e-3, seeds: [1], checkpoint_every: 2 }
            grids:
              - methods: [lora]
                targets: ["q,v"]
            """, "tiny.yaml", "tiny").Expand();
        var run = Assert.Single(plan.Runs);
        var runner = new BenchRunner(new TaskCatalog(assets, null));
        var store = new ResultsStore(Path.Combine(_dir, "results"));
        using (var stop = new CancellationTokenSource())
        {
            runner.StepCompleted = (step, _, _) => { if (step == 3) stop.Cancel(); };
            Assert.True(BenchGrid.Run(plan, Shard.All, store, runner, cancellation: stop.Token).Cancelled);
        }
        // Stopped after step 3, the run keeps that step as its checkpoint (and, keeping one, only that).
        Assert.True(Directory.Exists(Path.Combine(store.WorkDirectory(run.Id), "checkpoint-3")));
        Assert.False(Directory.Exists(Path.Combine(store.WorkDirectory(run.Id), "checkpoint-2")));
        store.Write(new RunRecord { Id = run.Id, Settings = run.Settings, Status = RunStatus.Failed, Error = "OutOfMemoryException: passing", CodeVersion = "test" });

        var steps = new List<int>();
        runner.StepCompleted = (step, _, _) => steps.Add(step);
        var plain = BenchGrid.Run(plan, Shard.All, store, runner);
        Assert.Equal((1, 0), (plain.Skipped, plain.Ran));
        Assert.True(Directory.Exists(Path.Combine(store.WorkDirectory(run.Id), "checkpoint-3")));

        var retry = BenchGrid.Run(plan, Shard.All, store, runner, retryFailed: true);
        Assert.Equal((0, 1), (retry.Skipped, retry.Ran));
        Assert.Equal(RunStatus.Completed, Assert.Single(retry.Records).Status);
        Assert.Equal(4, steps[0]);
        Assert.False(Directory.Exists(store.WorkDirectory(run.Id)));
    }

    /// <summary>A run that fails while another process completes it (written here as the run starts) keeps the completed result.</summary>
    [Fact]
    public void A_failure_does_not_overwrite_a_result_another_process_completed_meanwhile()
    {
        var assets = TinyBench.CreateAssets(_dir);
        var plan = BenchSpec.Parse(Spec, "tiny.yaml", "tiny").Expand();
        var runner = new BenchRunner(new TaskCatalog(assets, null));
        var store = new ResultsStore(Path.Combine(_dir, "results"));
        var failing = plan.Runs.Single(r => r.Settings.Method == "pissa");
        var other = new RunRecord { Id = failing.Id, Settings = failing.Settings, Status = RunStatus.Completed, CodeVersion = "other process", Headline = 0.5 };

        var outcome = BenchGrid.Run(plan, Shard.All, store, runner, started: run => { if (run.Id == failing.Id) store.Write(other); });

        var kept = Assert.Single(outcome.Records, r => r.Id == failing.Id);
        Assert.Equal((RunStatus.Completed, "other process"), (kept.Status, kept.CodeVersion));
    }

    /// <summary>
    /// A run another process is making (its claim held here) is left to it and counted as busy, not made twice; once
    /// the claim is let go, the next pass makes it.
    /// </summary>
    [Fact]
    public void A_run_claimed_by_another_process_is_left_to_it()
    {
        var assets = TinyBench.CreateAssets(_dir);
        var plan = BenchSpec.Parse(Spec, "tiny.yaml", "tiny").Expand();
        var runner = new BenchRunner(new TaskCatalog(assets, null));
        var store = new ResultsStore(Path.Combine(_dir, "results"));
        var held = plan.Runs[0];
        GridOutcome outcome;
        using (var claim = store.TryClaim(held.Id))
        {
            Assert.NotNull(claim);
            Assert.Null(store.TryClaim(held.Id));
            outcome = BenchGrid.Run(plan, Shard.All, store, runner);
        }
        Assert.Equal((1, plan.Runs.Count - 1), (outcome.Busy, outcome.Ran));
        Assert.DoesNotContain(outcome.Records, r => r.Id == held.Id);

        var again = BenchGrid.Run(plan, Shard.All, store, runner);
        Assert.Equal((0, 1, plan.Runs.Count - 1), (again.Busy, again.Ran, again.Skipped));
        Assert.Contains(again.Records, r => r.Id == held.Id);
    }

    /// <summary>
    /// Gradient accumulation makes fewer, larger steps: 48 toy rows in micro-batches of 8 are 6 micro-batches, 3 steps
    /// of 2; AdaLoRA's schedule and the warm-up count the same steps.
    /// </summary>
    [Fact]
    public void Gradient_accumulation_steps_count_as_the_trainer_takes_them()
    {
        var assets = TinyBench.CreateAssets(_dir);
        var plan = BenchSpec.Parse("""
            defaults: { model: embedded, tasks: toy, epochs: 1, batch_size: 8, max_length: 24, lr: 5e-3, seeds: [1], gradient_accumulation_steps: 2, adam_beta2: 0.99 }
            grids: [{ methods: [lora] }]
            """, "tiny.yaml", "tiny").Expand();
        var run = Assert.Single(plan.Runs);
        Assert.Equal(3, BenchRunner.TotalSteps(run.Settings, 48));
        var record = new BenchRunner(new TaskCatalog(assets, null)).Run(run)!;
        Assert.Equal(RunStatus.Completed, record.Status);
        Assert.Equal(3, record.Steps);
        Assert.Equal(0.99, record.Settings.AdamBeta2);
    }

    [Fact]
    public void Gradient_checkpointing_gives_the_same_run()
    {
        var assets = TinyBench.CreateAssets(_dir);
        var catalog = new TaskCatalog(assets, null);
        var runner = new BenchRunner(catalog);
        RunRecord RunWith(bool checkpointing)
        {
            var plan = BenchSpec.Parse($$"""
                defaults: { model: embedded, tasks: toy, methods: lora, max_steps: 3, batch_size: 8, max_length: 24, lr: 5e-3, adapter_dropout: 0.1, gradient_checkpointing: {{(checkpointing ? "true" : "false")}} }
                grids: [{ seeds: [1] }]
                """, "tiny.yaml", "tiny").Expand();
            Assert.Equal(checkpointing, plan.Runs[0].GradientCheckpointing);
            var store = new ResultsStore(Path.Combine(_dir, checkpointing ? "recomputed" : "kept"));
            BenchGrid.Run(plan, Shard.All, store, runner);
            return store.ReadAll().Single();
        }
        var (kept, recomputed) = (RunWith(false), RunWith(true));
        Assert.Equal(RunStatus.Completed, recomputed.Status);
        Assert.Equal((false, true), (kept.GradientCheckpointing, recomputed.GradientCheckpointing));
        Assert.Equal(kept.Id, recomputed.Id);
        Assert.Equal(kept.Losses, recomputed.Losses);
        Assert.Equal(kept.Scores, recomputed.Scores);
    }

    /// <summary>
    /// A bfloat16 run of the grid completes, records the setting, trains on rounded weights (other losses than the
    /// float32 run's, close to them) and shows in the report as its own model, not as another seed.
    /// </summary>
    [Fact]
    public void Frozen_bf16_runs_as_its_own_configuration()
    {
        var assets = TinyBench.CreateAssets(_dir);
        var runner = new BenchRunner(new TaskCatalog(assets, null));
        var plan = BenchSpec.Parse("""
            defaults: { model: embedded, tasks: toy, methods: lora, max_steps: 3, batch_size: 8, max_length: 24, lr: 5e-3, seeds: [1] }
            grids: [{ frozen_bf16: [false, true] }]
            """, "tiny.yaml", "tiny").Expand();
        var store = new ResultsStore(Path.Combine(_dir, "bf16"));
        BenchGrid.Run(plan, Shard.All, store, runner);
        var records = store.ReadAll().OrderBy(r => r.Settings.FrozenBf16).ToList();
        Assert.All(records, r => Assert.Equal(RunStatus.Completed, r.Status));
        var (single, held) = (records[0], records[1]);
        Assert.True(held.Settings.FrozenBf16);
        Assert.NotEqual(single.Losses, held.Losses);
        Assert.All(single.Losses.Zip(held.Losses), p => Assert.True(Math.Abs(p.First - p.Second) <= 0.01 * Math.Abs(p.First), $"{p.First} vs {p.Second}"));
        Assert.Equal(["embedded", "embedded (bf16)"], records.Select(r => EfficientFT.Bench.Reporting.ConfigKey.Of(r.Settings).Model));
    }

    [Fact]
    public void Glue_tasks_read_from_the_original_layout_including_regression()
    {
        var assets = TinyBench.CreateAssets(_dir);
        var glue = TinyBench.CreateGlue(_dir);
        var plan = BenchSpec.Parse("""
            defaults: { max_steps: 2, batch_size: 4, max_length: 24, model: embedded }
            grids: [ { methods: lora, tasks: [rte, stsb] } ]
            """, "glue.yaml", "glue").Expand();
        var catalog = new TaskCatalog(assets, glue);
        var store = new ResultsStore(Path.Combine(_dir, "results"));
        var outcome = BenchGrid.Run(plan, Shard.All, store, new BenchRunner(catalog));
        var byTask = outcome.Records.ToDictionary(r => r.Settings.Task);
        Assert.Equal(RunStatus.Completed, byTask["rte"].Status);
        Assert.Equal("accuracy", byTask["rte"].HeadlineMetric);
        Assert.Equal(RunStatus.Completed, byTask["stsb"].Status);
        Assert.Equal("pearson", byTask["stsb"].HeadlineMetric);
        Assert.Contains("spearman", byTask["stsb"].Scores.Keys);
    }

    [Fact]
    public void Merge_unions_shards_and_refuses_conflicting_duplicates()
    {
        var assets = TinyBench.CreateAssets(_dir);
        var plan = BenchSpec.Parse(Spec, "tiny.yaml", "tiny").Expand();
        var catalog = new TaskCatalog(assets, null);
        var runner = new BenchRunner(catalog);
        var a = new ResultsStore(Path.Combine(_dir, "a"));
        var b = new ResultsStore(Path.Combine(_dir, "b"));
        BenchGrid.Run(plan, Shard.Parse("0/2"), a, runner);
        BenchGrid.Run(plan, Shard.Parse("1/2"), b, runner);
        var merged = ResultsMerge.Merge(Path.Combine(_dir, "all"), [a.Root, b.Root, a.Root]);
        Assert.Empty(merged.Conflicts);
        Assert.Equal(3, merged.Copied);
        Assert.Equal(plan.Runs.Select(r => r.Id).Order(), new ResultsStore(Path.Combine(_dir, "all")).ReadAll().Select(r => r.Id).Order());

        var first = a.ReadAll()[0];
        var c = new ResultsStore(Path.Combine(_dir, "c"));
        c.Write(first with { Headline = (first.Headline ?? 0) + 0.5 });
        var conflict = ResultsMerge.Merge(Path.Combine(_dir, "bad"), [a.Root, c.Root]);
        Assert.Single(conflict.Conflicts);
        Assert.Equal(0, conflict.Copied);
        Assert.Empty(Directory.EnumerateFiles(Path.Combine(_dir, "bad", "runs")));

        // A failed record gives way to the same run ended elsewhere, also where the output already holds the failure.
        var failedThere = new ResultsStore(Path.Combine(_dir, "failed"));
        failedThere.Write(first with { Status = RunStatus.Failed, Error = "out of memory", Headline = null, Scores = new Dictionary<string, double>() });
        var retried = ResultsMerge.Merge(failedThere.Root, [a.Root]);
        Assert.Empty(retried.Conflicts);
        Assert.Equal(RunStatus.Completed, failedThere.ReadAll().Single(r => r.Id == first.Id).Status);

        var missing = Assert.Throws<DirectoryNotFoundException>(() => ResultsMerge.Merge(Path.Combine(_dir, "typo"), [a.Root, Path.Combine(_dir, "nosuch")]));
        Assert.Contains("nosuch", missing.Message);
        Assert.False(Directory.Exists(Path.Combine(_dir, "typo")));
    }

    [Fact]
    public void Label_names_in_jsonl_read_as_their_class()
    {
        TinyBench.WriteTask(Path.Combine(_dir, "t"), 4, 4);
        var data = new TaskCatalog(_dir, null).Load(Path.Combine(_dir, "t", "task.json"));
        Assert.Equal([1f, 0f, 1f, 0f], data.Train.Select(e => e.Label));
        File.WriteAllText(Path.Combine(_dir, "t", "train.jsonl"), "{\"text\": \"a\", \"label\": \"neutral\"}\n");
        var error = Assert.Throws<InvalidDataException>(() => JsonlExampleReader.Read(data.Task, Path.Combine(_dir, "t", "train.jsonl")));
        Assert.Contains("train.jsonl:1", error.Message);
    }

    /// <summary>
    /// A multi-label custom task: each row names any of "sentiment" (a positive word), "food" and "film"; the grid
    /// trains a multi-label head with binary cross-entropy and scores micro-F1, macro-F1 and exact match.
    /// </summary>
    [Fact]
    public void A_multi_label_custom_task_runs_and_is_scored_by_its_metrics()
    {
        var assets = TinyBench.CreateAssets(_dir);
        var task = Path.Combine(_dir, "tags");
        Directory.CreateDirectory(task);
        File.WriteAllText(Path.Combine(task, "task.json"), """
            { "name": "tags", "text_columns": ["text"], "label_column": "labels", "label_names": ["sentiment", "food", "film"],
              "multi_label": true, "metrics": ["micro_f1", "macro_f1", "exact_match"] }
            """);
        static string Line((string Text, bool Positive) e)
        {
            var labels = new[] { e.Positive ? "sentiment" : null, e.Text.Contains("food") ? "food" : null, e.Text.Contains("film") ? "film" : null };
            return new System.Text.Json.Nodes.JsonObject
            {
                ["text"] = e.Text,
                ["labels"] = new System.Text.Json.Nodes.JsonArray(labels.OfType<string>().Select(l => (System.Text.Json.Nodes.JsonNode?)l).ToArray()),
            }.ToJsonString();
        }
        File.WriteAllLines(Path.Combine(task, "train.jsonl"), TinyBench.Sentences(32, 1).Select(Line));
        File.WriteAllLines(Path.Combine(task, "validation.jsonl"), TinyBench.Sentences(16, 2).Select(Line));
        var plan = BenchSpec.Parse($"defaults: {{ model: embedded, max_steps: 4, batch_size: 8, max_length: 24, lr: 5e-3 }}\ngrids: [ {{ methods: lora, tasks: [\"{task}/task.json\"] }} ]\n",
            "tags.yaml", "tags").Expand();
        var catalog = new TaskCatalog(assets, null);
        var runner = new BenchRunner(catalog);
        BenchGrid.Validate(plan, catalog, runner);

        var record = Assert.Single(BenchGrid.Run(plan, Shard.All, new ResultsStore(Path.Combine(_dir, "results")), runner).Records);

        Assert.True(record.Status == RunStatus.Completed, record.Error);
        Assert.Equal("micro_f1", record.HeadlineMetric);
        Assert.Equal(["exact_match", "macro_f1", "micro_f1"], record.Scores.Keys.Order());
        Assert.All(record.Scores.Values, v => Assert.InRange(v, 0, 1));
        Assert.Equal(record.Scores["micro_f1"], record.Headline);

        // The head has one output per label: the rows were read as multi-hot targets, not as class indices.
        var data = catalog.Load(Path.Combine(task, "task.json"));
        var classifier = BenchRunner.LoadClassifier(Path.Combine(assets, "model"), data.Task, 1);
        Assert.Equal((3, EfficientFT.Models.Configs.ProblemType.MultiLabelClassification), (classifier.ModelConfig.NumLabels, classifier.ModelConfig.ProblemType));
        var rows = BenchRunner.Tokenize(EfficientFT.Models.Tokenizers.Tokenizer.FromFile(Path.Combine(assets, "model", "tokenizer.json")), data.Train, data.Task, 24);
        Assert.Null(rows.ClassLabels);
        Assert.Equal(data.Train.Select(e => e.Labels!.Contains(0) ? 1f : 0f), Enumerable.Range(0, rows.Batch).Select(r => rows.MultiHotLabels![r * 3]));
    }

    /// <summary>
    /// Each logit is one decision, above 0 (sigmoid above 0.5) or not. With the head's weight zeroed and its bias
    /// (2, −2, 0.5), every row predicts labels a and c. References {a} and {a, b, c}: TP 3, FP 1, FN 1, so micro-F1
    /// 6/8; per label F1 1, 0 and 2/3, so macro-F1 5/9; no row exactly right.
    /// </summary>
    [Fact]
    public void Multi_label_evaluation_thresholds_each_logit_at_zero()
    {
        var assets = TinyBench.CreateAssets(_dir);
        var task = new GlueTask("tags", new SentenceKeys("text", null), ["a", "b", "c"], false,
            [Metric.MicroF1, Metric.MacroF1, Metric.ExactMatch], Metric.MicroF1, ["validation"], "labels", IsMultiLabel: true);
        var model = BenchRunner.LoadClassifier(Path.Combine(assets, "model"), task, 1);
        var head = model.NamedTensors().ToDictionary(p => p.Name, p => p.Value);
        head["classifier.out_proj.weight"].AsSpan().Clear();
        head["classifier.out_proj.bias"].CopyFrom([2f, -2f, 0.5f]);
        var rows = BenchRunner.Tokenize(EfficientFT.Models.Tokenizers.Tokenizer.FromFile(Path.Combine(assets, "model", "tokenizer.json")),
            [new TextExample("good film", null, 0, [0]), new TextExample("bad food", null, 0, [0, 1, 2])], task, 24);

        var scores = GlueEvaluation.Evaluate(EfficientFT.Peft.PeftModel.CreateWhole(model), [rows], task);

        Assert.Equal(6.0 / 8.0, scores["MicroF1"], 12);
        Assert.Equal(5.0 / 9.0, scores["MacroF1"], 12);
        Assert.Equal(0.0, scores["ExactMatch"], 12);
    }
}
