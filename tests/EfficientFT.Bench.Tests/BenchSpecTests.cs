namespace EfficientFT.Bench.Tests;

public class BenchSpecTests
{
    private static BenchPlan Expand(string yaml) => BenchSpec.Parse(yaml, "test.yaml", "test").Expand();

    [Fact]
    public void Presets_expand_to_their_documented_grids()
    {
        // default: 2 tasks × 2 seeds × (full_ft on 2 target sets + lora, dora × 2 target sets × 4 λ + 3 methods on q,v).
        Assert.Equal(2 * 2 * (2 + 2 * 2 * 4 + 3), BenchSpec.Preset("default").Expand().Runs.Count);
        Assert.Equal(2 * 2 * 2, BenchSpec.Preset("quick").Expand().Runs.Count);
        Assert.Equal((2, 2), (BenchSpec.Preset("default").Jobs, BenchSpec.Preset("quick").Jobs));
        Assert.Equal(1, BenchSpec.Parse("grids: [{ tasks: toy, methods: lora }]", "t.yaml", "t").Jobs);
        var bad = Assert.Throws<SpecException>(() => BenchSpec.Parse("jobs: 0\ngrids: [{ tasks: toy, methods: lora }]", "t.yaml", "t"));
        Assert.Contains("t.yaml:1", bad.Message);
    }

    [Fact]
    public void A_block_is_the_product_of_its_lists_and_irrelevant_settings_do_not_multiply_runs()
    {
        var plan = Expand("""
            defaults: { tasks: toy, seeds: [1, 2] }
            grids:
              - methods: [full_ft, lora]
                targets: ["q,v", "q,k,v"]
                rank: [4, 8]
                lambda: [1, 4]
            """);
        // full_ft has no rank: 2 targets × 2 λ × 2 seeds, its two ranks collapse; lora: 2 × 2 × 2 × 2.
        Assert.Equal(8 + 16, plan.Runs.Count);
        Assert.Equal(8, plan.DuplicatesRemoved);
        Assert.All(plan.Runs.Where(r => r.Settings.Method == "full_ft"), r => Assert.Equal((0, 0.0), (r.Settings.Rank, r.Settings.Alpha)));
        Assert.Equal(Enumerable.Range(0, plan.Runs.Count), plan.Runs.Select(r => r.Index));
        Assert.Equal(plan.Runs.Count, plan.Runs.Select(r => r.Id).Distinct().Count());
    }

    [Fact]
    public void Lambda_without_v_targets_max_steps_and_foreign_method_options_collapse()
    {
        var plan = Expand("""
            defaults: { task: toy, method: lora, max_steps: 5, sparse_rate: 0.5 }
            grids:
              - targets: "q,k"
                lambda: [1, 2, 4]
                epochs: [1, 3]
              - method: sift
                sparse_rate: [0.2, 0.1]
            """);
        Assert.Equal(3, plan.Runs.Count);
        var lora = plan.Runs[0].Settings;
        Assert.Equal((1.0, 0, 5), (lora.Lambda, lora.Epochs, lora.MaxSteps!.Value));
        Assert.Empty(lora.MethodOptions);
        // sift's 0.2 is the default, so it is the run without the option; 0.1 is kept.
        Assert.Empty(plan.Runs[1].Settings.MethodOptions);
        Assert.Equal("0.1", plan.Runs[2].Settings.MethodOptions["sparse_rate"]);
    }

    /// <summary>A combination of peft's flags ("pissa+dora") reads every option its parts read.</summary>
    [Fact]
    public void A_combined_lora_method_takes_the_options_of_its_parts()
    {
        var plan = Expand("""
            defaults: { task: toy, max_steps: 5, rank: 4, alpha: 32, adapter_dropout: 0.1, pissa_iterations: 2, mpc: "orthogonal:0.1" }
            grids:
              - methods: [pissa+rslora+dora, eva+dora]
            """);
        Assert.Equal(2, plan.Runs.Count);
        var (pissa, eva) = (plan.Runs[0].Settings, plan.Runs[1].Settings);
        Assert.Equal(("pissa+rslora+dora", 4, 32.0, 0.1), (pissa.Method, pissa.Rank, pissa.Alpha, pissa.AdapterDropout));
        Assert.Equal(["mpc", "pissa_iterations"], pissa.MethodOptions.Keys.Order());
        Assert.Equal(("eva+dora", 4, 32.0), (eva.Method, eva.Rank, eva.Alpha));
        Assert.Equal(["mpc"], eva.MethodOptions.Keys);
        Assert.Equal("PiSSA+rsLoRA+DoRA", EfficientFT.Bench.Reporting.ConfigKey.MethodName(pissa.Method));
    }

    [Fact]
    public void The_most_specific_setting_wins()
    {
        var plan = Expand("""
            defaults:
              tasks: toy
              lr: 1e-3
              per_method: { full_ft: { lr: 1e-4 } }
            grids:
              - methods: [full_ft, lora]
              - methods: [full_ft, dora]
                lr: 3e-3
                per_method: { dora: { lr: 5e-3 } }
            """);
        Assert.Equal(
            [("full_ft", 1e-4), ("lora", 1e-3), ("full_ft", 3e-3), ("dora", 5e-3)],
            plan.Runs.Select(r => (r.Settings.Method, r.Settings.LearningRate)));
    }

    [Fact]
    public void Runs_checkpoint_every_ten_minutes_unless_told_otherwise_and_that_never_changes_an_id()
    {
        var plan = Expand("""
            defaults: { tasks: toy, methods: lora }
            grids:
              - { seeds: [1] }
              - { seeds: [2], checkpoint_minutes: null }
              - { seeds: [3], checkpoint_minutes: 0.5, checkpoint_every: 100 }
            """);
        Assert.Equal([(10.0, null), (null, null), (0.5, 100)], plan.Runs.Select(r => (r.CheckpointMinutes, r.CheckpointEvery)));
        Assert.Equal([true, false, true], plan.Runs.Select(r => r.Checkpoints));
        var untimed = Expand("""
            defaults: { tasks: toy, methods: lora, checkpoint_minutes: null }
            grids: [{ seeds: [1] }]
            """);
        Assert.Equal(plan.Runs[0].Id, untimed.Runs[0].Id);
    }

    [Fact]
    public void Gradient_checkpointing_is_off_unless_asked_for_and_never_changes_an_id()
    {
        var plan = Expand("""
            defaults: { tasks: toy, methods: lora }
            grids:
              - { seeds: [1] }
              - { seeds: [2], gradient_checkpointing: true }
            """);
        Assert.Equal([false, true], plan.Runs.Select(r => r.GradientCheckpointing));
        var recomputed = Expand("""
            defaults: { tasks: toy, methods: lora, gradient_checkpointing: true }
            grids: [{ seeds: [1] }]
            """);
        Assert.Equal(plan.Runs[0].Id, recomputed.Runs[0].Id);
    }

    [Fact]
    public void Frozen_bf16_is_a_new_run_but_leaves_every_other_id_as_it_was()
    {
        var plan = Expand("""
            defaults: { tasks: toy, methods: lora, seeds: [1] }
            grids:
              - { frozen_bf16: [false, true] }
            """);
        Assert.Equal([false, true], plan.Runs.Select(r => r.Settings.FrozenBf16));
        Assert.NotEqual(plan.Runs[0].Id, plan.Runs[1].Id);
        var unset = Expand("""
            defaults: { tasks: toy, methods: lora, seeds: [1] }
            grids: [{ lr: 5e-4 }]
            """);
        Assert.Equal(unset.Runs[0].Id, plan.Runs[0].Id);
        Assert.DoesNotContain("frozen_bf16", unset.Runs[0].Settings.CanonicalJson());
    }

    /// <summary>
    /// AdamW's betas and ε and gradient accumulation reach the run (transformers' names), make new runs when set, and
    /// leave the id of a run at their defaults as it was before they existed.
    /// </summary>
    [Fact]
    public void Optimizer_settings_and_accumulation_are_new_runs_but_leave_default_ids_alone()
    {
        var plan = Expand("""
            defaults: { tasks: toy, methods: lora, seeds: [1] }
            grids:
              - { adam_beta2: [0.999, 0.99] }
              - { adam_beta1: 0.8, adam_epsilon: 1e-6, gradient_accumulation_steps: 4 }
            """);
        Assert.Equal([0.999, 0.99, 0.999], plan.Runs.Select(r => r.Settings.AdamBeta2));
        var tuned = plan.Runs[2].Settings;
        Assert.Equal((0.8, 1e-6, 4), (tuned.AdamBeta1, tuned.AdamEpsilon, tuned.GradientAccumulation));
        Assert.Equal(3, plan.Runs.Select(r => r.Id).Distinct().Count());
        var unset = Expand("""
            defaults: { tasks: toy, methods: lora, seeds: [1] }
            grids: [{ lr: 5e-4 }]
            """);
        Assert.Equal(unset.Runs[0].Id, plan.Runs[0].Id);
        Assert.DoesNotContain("adam", unset.Runs[0].Settings.CanonicalJson());
        Assert.DoesNotContain("accumulation", unset.Runs[0].Settings.CanonicalJson());
    }

    /// <summary>GLUE names resolve in any case, and "RTE" and "rte" are one task, not two sets of runs and two columns.</summary>
    [Fact]
    public void Glue_task_names_are_one_spelling()
    {
        var plan = Expand("""
            defaults: { methods: lora, seeds: [1] }
            grids: [{ tasks: [RTE, rte, Rte] }]
            """);
        var run = Assert.Single(plan.Runs);
        Assert.Equal("rte", run.Settings.Task);
        Assert.Equal(2, plan.DuplicatesRemoved);
    }

    [Fact]
    public void Ids_do_not_depend_on_key_order_or_target_spelling()
    {
        var one = Expand("""
            defaults: { tasks: [toy], lr: 2e-4, seeds: [3, 4] }
            grids:
              - { methods: [lora, dora], targets: ["q,v", [query, key, value]], lambda: [1, 2] }
            """);
        var two = Expand("""
            grids:
              - lambda: [2, 1]
                targets: ["v, q", "k,v,q"]
                methods: [dora, lora]
            defaults: { seeds: [4, 3], lr: 0.0002, tasks: [toy] }
            """);
        Assert.Equal(16, one.Runs.Count);
        Assert.Equal(one.Runs.Select(r => r.Id).Order(), two.Runs.Select(r => r.Id).Order());
    }

    /// <summary>
    /// --model can merge blocks written for different models into one run each; options meant for one model's block
    /// (checkpointing the large one) then differ without the spec being wrong, and the first block's are kept.
    /// </summary>
    [Fact]
    public void Model_override_merging_blocks_keeps_the_first_blocks_run_options()
    {
        var spec = BenchSpec.Parse("""
            defaults: { tasks: [toy], methods: [lora] }
            grids:
              - models: [small]
              - models: [large]
                gradient_checkpointing: true
            """, "models.yaml", "models");
        Assert.Equal(2, spec.Expand().Runs.Count);
        var merged = spec.Expand(model: "embedded");
        Assert.Equal((1, 1, false), (merged.Runs.Count, merged.DuplicatesRemoved, merged.Runs[0].GradientCheckpointing));
    }

    [Fact]
    public void Overrides_replace_models_and_tasks()
    {
        var plan = BenchSpec.Preset("quick").Expand("some/model", ["rte", "stsb"]);
        Assert.Equal(16, plan.Runs.Count);
        Assert.All(plan.Runs, r => Assert.Equal("some/model", r.Settings.Model));
        Assert.Equal(["rte", "stsb"], plan.Tasks.Keys.Order());
    }

    /// <summary>
    /// A block that names its own tasks holds settings meant for them (GLUE specs give RTE other epochs than SST-2), so
    /// --tasks picks among them rather than running every block on every task; the defaults' list it replaces.
    /// </summary>
    [Fact]
    public void Tasks_on_the_command_line_pick_among_blocks_with_tasks_of_their_own()
    {
        var spec = BenchSpec.Parse("""
            defaults: { tasks: [toy], methods: [lora] }
            grids:
              - tasks: [RTE]
                epochs: 20
              - tasks: [sst2, mrpc]
                epochs: 3
              - seeds: [7]
            """, "test.yaml", "test");
        var plan = spec.Expand(tasks: ["rte", "sst2"]);
        Assert.Equal([("rte", 20, 1UL), ("sst2", 3, 1UL), ("rte", 1, 7UL), ("sst2", 1, 7UL)],
            plan.Runs.Select(r => (r.Settings.Task, r.Settings.Epochs, r.Settings.Seed)));

        var onlyOwn = BenchSpec.Parse("grids:\n  - { tasks: [rte], methods: [lora] }\n  - { tasks: [sst2], methods: [lora] }\n", "own.yaml", "own");
        var error = Assert.Throws<SpecException>(() => onlyOwn.Expand(tasks: ["rte", "cola"]));
        Assert.Equal(("--tasks", true), (error.Key, error.Problem.Contains("'cola' is run by no block")));
    }

    [Theory]
    [InlineData("grids:\n  - methods: [lora]\n    tasks: toy\n    rnak: 4\n", 4, "rnak", "unknown key")]
    [InlineData("grids:\n  - methods: [lora, lorax]\n    tasks: toy\n", 2, "methods", "unknown method 'lorax'")]
    [InlineData("defaults:\n  tasks: toy\n  rank: -1\ngrids:\n  - methods: lora\n", 3, "rank", "outside")]
    [InlineData("defaults:\n  tasks: toy\n  lr: fast\ngrids:\n  - methods: lora\n", 3, "lr", "not a number")]
    [InlineData("defaults:\n  tasks: toy\ngrids:\n  - methods: lora\n    targets: [\"q,x\"]\n", 5, "targets", "unknown target 'x'")]
    [InlineData("defaults:\n  tasks: toy\n  per_method:\n    nope: { lr: 1 }\ngrids:\n  - methods: lora\n", 4, "per_method.nope", "unknown method")]
    [InlineData("defaults:\n  tasks: toy\n  schedule: steep\ngrids:\n  - methods: lora\n", 3, "schedule", "constant, linear, cosine")]
    [InlineData("defaults:\n  tasks: toy\ngrids:\n  - targets: q\n", 4, "grids[0]", "no method")]
    [InlineData("defaults:\n  tasks: toy\n  gradient_checkpointing: yes\ngrids:\n  - methods: lora\n", 3, "gradient_checkpointing", "'yes' is not true or false")]
    [InlineData("defaults:\n  tasks: toy\ngrids:\n  - methods: lora\n    frozen_bf16: 1\n", 5, "frozen_bf16", "'1' is not true or false")]
    [InlineData("defaults:\n  tasks: toy\n   lr: 1\ngrids: []\n", 3, "yaml", "")]
    [InlineData("defaults: { tasks: toy\ngrids: []\n", 0, "yaml", "not valid YAML")]
    [InlineData("defaults:\n  tasks: toy\ngrid:\n  - methods: lora\n", 3, "grid", "unknown key")]
    [InlineData("defaults:\n  tasks: toy\n  seeds: []\ngrids:\n  - methods: lora\n", 3, "seeds", "an empty list")]
    [InlineData("defaults:\n  tasks: toy\ngrids:\n  - methods: lora\n    lambda: []\n", 5, "lambda", "an empty list")]
    [InlineData("defaults:\n  tasks: toy\n  methods: []\ngrids:\n  - lr: 1e-3\n", 3, "methods", "an empty list of methods")]
    [InlineData("defaults:\n  tasks: toy\n  adam_beta2: 1\ngrids:\n  - methods: lora\n", 3, "adam_beta2", "above the most allowed")]
    [InlineData("defaults:\n  tasks: toy\n  max_grad_norm: 0\ngrids:\n  - methods: lora\n", 3, "max_grad_norm", "null turns it off")]
    [InlineData("defaults:\n  tasks: toy\n  mpc: nonlinear:1\ngrids:\n  - methods: [lora, dora]\n", 3, "mpc", "dora is not one")]
    [InlineData("defaults:\n  tasks: toy\ngrids:\n  - methods: lora\n    gradient_checkpointing: [false, true]\n", 5, "gradient_checkpointing", "a list of values would make one run")]
    [InlineData("defaults:\n  tasks: toy\n  evaluate_every: [null, 50]\ngrids:\n  - methods: lora\n", 3, "evaluate_every", "not part of a run's id")]
    [InlineData("defaults:\n  tasks: toy\ngrids:\n  - methods: lora\n  - methods: lora\n    gradient_checkpointing: true\n", 6, "gradient_checkpointing", "is false by default and true at line 6 for the same run")]
    [InlineData("defaults:\n  tasks: toy\ngrids:\n  - methods: lora\n    gradient_checkpointing: true\n  - methods: lora\n", 5, "gradient_checkpointing", "is true at line 5 and false by default for the same run")]
    [InlineData("defaults:\n  tasks: toy\ngrids:\n  - methods: [vera, ia3]\n    mpc: orthogonal:0.1\n", 5, "mpc", "none of this block's methods (vera, ia3) reads it")]
    [InlineData("defaults:\n  tasks: toy\ngrids:\n  - methods: full_ft\n    rank: [4, 8]\n", 5, "rank", "none of this block's methods (full_ft) reads it")]
    [InlineData("grids:\n  - methods: lora\n    tasks: toy\n    per_method:\n      adalora: { adalora_init_r: 12 }\n", 5, "per_method.adalora", "adalora is not among this block's methods (lora)")]
    [InlineData("grids:\n  - methods: [lora, sift]\n    tasks: toy\n    per_method:\n      lora: { sparse_rate: 0.1 }\n", 5, "sparse_rate", "lora does not read it")]
    public void A_bad_spec_names_file_line_and_key(string yaml, int line, string key, string problem)
    {
        var error = Assert.Throws<SpecException>(() => Expand(yaml));
        Assert.Equal(("test.yaml", line, key), (error.File, error.Line, error.Key));
        Assert.Contains(problem, error.Problem);
        Assert.StartsWith(line > 0 ? $"test.yaml:{line}:" : "test.yaml: yaml:", error.Message);
    }

    [Fact]
    public void An_unknown_task_is_reported_where_the_spec_names_it_before_anything_runs()
    {
        var error = ValidationError(_ => "defaults:\n  tasks: toy\ngrids:\n  - methods: lora\n  - methods: dora\n    tasks: [toy, cola, nosuch]\n");
        Assert.Equal((6, "tasks"), (error.Line, error.Key));
        Assert.Contains("--glue-dir", error.Problem);
    }

    [Fact]
    public void A_model_whose_weights_do_not_read_is_reported_where_the_spec_names_it_before_anything_runs()
    {
        var error = ValidationError(assets =>
        {
            var model = Directory.CreateDirectory(Path.Combine(assets, "broken-model")).FullName;
            foreach (var file in new[] { "config.json", "tokenizer.json" }) File.Copy(Path.Combine(assets, "model", file), Path.Combine(model, file));
            File.WriteAllBytes(Path.Combine(model, "model.safetensors"), File.ReadAllBytes(Path.Combine(assets, "model", "model.safetensors"))[..20]);
            return $"defaults:\n  tasks: toy\ngrids:\n  - methods: lora\n    model: {model}\n";
        });
        Assert.Equal((5, "model"), (error.Line, error.Key));
        Assert.Contains("model.safetensors", error.Problem);
    }

    /// <summary>A max_length above the positions the model has would fail every run with a row that long.</summary>
    [Fact]
    public void A_max_length_longer_than_the_model_takes_is_reported_where_the_spec_sets_it()
    {
        var error = ValidationError(_ => "defaults:\n  tasks: toy\ngrids:\n  - methods: lora\n  - methods: dora\n    max_length: [64, 4096]\n");
        Assert.Equal((6, "max_length"), (error.Line, error.Key));
        Assert.Contains("4096 tokens a row is more than model 'embedded' takes", error.Problem);
    }

    /// <summary>Every run naming a projection the model lacks would fail at its start; the spec's targets are refused first.</summary>
    [Fact]
    public void A_target_the_model_lacks_is_reported_where_the_spec_names_it()
    {
        var error = ValidationError(_ => "defaults:\n  tasks: toy\ngrids:\n  - methods: lora\n    targets: [\"q,v\", \"q,v,gate\"]\n");
        Assert.Equal((5, "targets"), (error.Line, error.Key));
        Assert.Contains("'q,v,gate' names gate, and model 'embedded' (roberta) has no gate projection", error.Problem);
    }

    /// <summary>
    /// PiSSA and OLoRA (alone or with DoRA/rsLoRA) factor the weight, so their rank cannot exceed a targeted layer's
    /// smaller side (the tiny model's 16 hidden features); LoRA's can, so the same rank is fine for it.
    /// </summary>
    [Theory]
    [InlineData("pissa")]
    [InlineData("olora+dora")]
    public void A_rank_above_a_layer_a_factoring_method_reads_is_reported_where_the_spec_sets_it(string method)
    {
        var error = ValidationError(_ => $"defaults:\n  tasks: toy\ngrids:\n  - methods: [lora, {method}]\n    rank: [8, 32]\n");
        Assert.Equal((5, "rank"), (error.Line, error.Key));
        Assert.Contains($"rank 32 is more than {method} can take on model 'embedded': of its q,v projections the narrowest has 16 features on one side", error.Problem);
    }

    /// <summary>The rank's place is the one the refused method took it from, not another method's block with the same rank.</summary>
    [Fact]
    public void A_too_large_rank_is_reported_at_the_block_of_the_method_that_cannot_take_it()
    {
        var error = ValidationError(_ => "defaults:\n  tasks: toy\ngrids:\n  - methods: lora\n    rank: 32\n  - methods: pissa\n    rank: 32\n");
        Assert.Equal((7, "rank"), (error.Line, error.Key));
    }

    /// <summary>
    /// The error <see cref="BenchGrid.Validate"/> gives for the spec text <paramref name="spec"/> returns; it gets the
    /// tiny assets' directory, where it may put a model of its own.
    /// </summary>
    private static SpecException ValidationError(Func<string, string> spec)
    {
        var dir = Directory.CreateTempSubdirectory("eft-bench-spec-").FullName;
        try
        {
            var assets = TinyBench.CreateAssets(dir);
            var plan = Expand(spec(assets));
            var catalog = new TaskCatalog(assets, glueDirectory: null);
            return Assert.Throws<SpecException>(() => BenchGrid.Validate(plan, catalog, new BenchRunner(catalog)));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(7)]
    public void Shards_cover_every_run_exactly_once(int count)
    {
        var plan = BenchSpec.Preset("default").Expand();
        var taken = Enumerable.Range(0, count).SelectMany(i => plan.Runs.Where(r => Shard.Parse($"{i}/{count}").Contains(r.Index))).ToList();
        Assert.Equal(plan.Runs.Select(r => r.Id).Order(), taken.Select(r => r.Id).Order());
    }

    [Theory]
    [InlineData("2/2")]
    [InlineData("-1/2")]
    [InlineData("1")]
    [InlineData("0/0")]
    public void A_bad_shard_is_refused(string text) => Assert.Throws<ArgumentException>(() => Shard.Parse(text));
}
