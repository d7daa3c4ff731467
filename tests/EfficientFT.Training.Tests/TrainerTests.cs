using EfficientFT.Models;
using EfficientFT.Models.Data;
using EfficientFT.Models.Nn;
using EfficientFT.Models.SafeTensors;
using EfficientFT.Peft;
using EfficientFT.Tensors;
using EfficientFT.Tensors.Autograd;
using EfficientFT.Training.Data;
using EfficientFT.Training.Metrics;
using EfficientFT.Training.Optimizers;
using EfficientFT.Training.Schedules;

namespace EfficientFT.Training.Tests;

/// <summary>The training loop on the tiny RoBERTa classifier fixture with LoRA on query and value.</summary>
public sealed class TrainerTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("eft-trainer-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    /// <param name="prepare">Runs on the loaded model before the method is installed.</param>
    private static (PeftModel Peft, ModelBatch Data) Load(PeftOptions? options = null, string fixture = "roberta_cls__base",
        bool holdInBFloat16 = false, Action<PretrainedModel>? prepare = null)
    {
        var dir = Path.Combine(AppContext.BaseDirectory, "fixtures", "peft", fixture);
        var (model, _) = Pretrained.Load(Path.Combine(dir, "base"), c => c, holdInBFloat16: holdInBFloat16);
        prepare?.Invoke(model);
        var peft = PeftModel.Create(model, options ?? new PeftOptions { Method = "lora", Targets = TargetSpec.Parse("query,value") });
        var data = JsonlBatchReader.Read(Path.Combine(dir, "batch.jsonl"), model.ModelConfig.PadTokenId ?? 0,
            SequenceClassification.IsRegression(model.ModelConfig));
        return (peft, data);
    }

    private static AdamW Optimizer(PeftModel peft, double lr = 1e-2) => new(ParameterGroups.Build(peft.Trainable, lr));

    private static float[][] Snapshot(PeftModel peft) => peft.Trainable.Select(p => p.Value.ToArray()).ToArray();

    private static void AssertClose(float[][] expected, float[][] actual, double tolerance)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (var i = 0; i < expected.Length; i++)
            for (var j = 0; j < expected[i].Length; j++)
                Assert.True(Math.Abs(expected[i][j] - actual[i][j]) <= tolerance, $"tensor {i} element {j}: {actual[i][j]} vs {expected[i][j]}");
    }

    /// <summary>
    /// Methods whose training the engine's memory options must leave unchanged: LoRA on both architectures, and
    /// adapters that compute differently (DoRA's norms, IA³'s scaling, SIFT's increments chosen in the first backward,
    /// subspace scaling, VeRA's shared matrices, AdaLoRA's allocator), full fine-tuning, where every weight trains,
    /// and GaLore with its own optimizer.
    /// </summary>
    public static TheoryData<string, string> MethodCases => new()
    {
        { "roberta_cls__base", "lora" }, { "llama_cls__lora", "lora" }, { "roberta_cls__base", "full_ft" },
        { "roberta_cls__base", "dora" }, { "roberta_cls__base", "ia3" }, { "roberta_cls__base", "sift" },
        { "roberta_cls__base", "ssb" }, { "roberta_cls__base", "vera" }, { "roberta_cls__base", "galore" },
        { "llama_cls__lora", "adalora" },
    };

    private static PeftOptions CaseOptions(string method) => new()
    {
        Method = method, Targets = TargetSpec.Parse("q,v"), Dropout = 0.1,
        AdaLora = method == "adalora" ? new AdaLoraOptions { TotalStep = 3 } : null,
    };

    /// <summary>Three steps of a <see cref="MethodCases"/> case with dropout in the model and the adapters.</summary>
    private static (TrainingResult Result, float[][] Trained) TrainCase(string fixture, string method, bool gradientCheckpointing = false,
        bool holdInBFloat16 = false, Action<PretrainedModel>? prepare = null, Action<PeftModel>? installed = null)
    {
        var (peft, data) = Load(CaseOptions(method), fixture, holdInBFloat16, prepare);
        installed?.Invoke(peft);
        var trainer = new TrainerOptions
        {
            MaxSteps = 3, BatchSize = 4, Shuffle = false, Schedule = ScheduleKind.Constant, GradientCheckpointing = gradientCheckpointing,
        };
        var result = new Trainer(peft, OptimizerSetup.Create(peft, new OptimizerSettings { LearningRate = 1e-2, GaloreGap = 2 }), trainer).Train(data);
        Assert.Equal(TrainingStatus.Completed, result.Status);
        return (result, Snapshot(peft));
    }

    /// <remarks>The rerun in backward must draw the dropout masks the forward drew.</remarks>
    [Theory]
    [MemberData(nameof(MethodCases))]
    public void GradientCheckpointing_TakesTheSameStepsBitForBit(string fixture, string method)
    {
        var (kept, keptWeights) = TrainCase(fixture, method);
        var (recomputed, recomputedWeights) = TrainCase(fixture, method, gradientCheckpointing: true);

        Assert.Equal(kept.Losses, recomputed.Losses);
        Assert.Equal(keptWeights, recomputedWeights);
        Assert.NotEqual(Snapshot(Load(CaseOptions(method), fixture).Peft), recomputedWeights);
    }

    /// <remarks>
    /// Holding the frozen matrices in bfloat16 must train exactly as a float32 model whose matrices were rounded to
    /// bfloat16 beforehand: the products widen what they pack, and what a method trains (full fine-tuning's weights,
    /// GaLore's targets, every head) goes back to float32 unchanged. The unrounded model must train differently, or
    /// the comparison would prove nothing.
    /// </remarks>
    [Theory]
    [MemberData(nameof(MethodCases))]
    public void FrozenMatricesInBFloat16_TrainAsTheRoundedFloat32Model(string fixture, string method)
    {
        var (held, heldWeights) = TrainCase(fixture, method, holdInBFloat16: true,
            prepare: model => Assert.Contains(model.NamedTensors(), p => p.Value.IsBFloat16));
        var (rounded, roundedWeights) = TrainCase(fixture, method, prepare: model =>
        {
            foreach (var (name, t) in model.NamedTensors())
                if (t.Rank == 2 && !model.HeadModules.Any(head => name.StartsWith(head + ".", StringComparison.Ordinal)))
                    t.CopyFrom(t.ToArray().Select(v => BFloat16.ToSingle(BFloat16.FromSingle(v))).ToArray());
        });
        var (plain, _) = TrainCase(fixture, method);

        Assert.Equal(rounded.Losses, held.Losses);
        Assert.Equal(roundedWeights, heldWeights);
        Assert.NotEqual(plain.Losses, held.Losses);
    }

    /// <remarks>
    /// Holding the frozen linear weights packed must train bit for bit as the model held as it is: the products read
    /// the panels they would have packed, and what trains (full fine-tuning's weights, GaLore's targets) is unpacked
    /// exactly. A target layer's weight is packed only where its adapter multiplies it as it is: DoRA, SIFT and
    /// subspace scaling compute with its values at every step, which would unpack it each time.
    /// </remarks>
    [Theory]
    [MemberData(nameof(MethodCases))]
    public void FrozenLinearWeightsPacked_TrainBitForBit(string fixture, string method)
    {
        var (packed, packedWeights) = TrainCase(fixture, method, installed: peft =>
        {
            var frozen = peft.Model.FrozenLinearWeights();
            var (bytes, _) = FrozenWeightPacking.Apply(peft.Model, PackedWeights.On, rowsPerProduct: 1, threads: 1);
            Assert.Equal(frozen.Sum(t => 4L * t.Size), bytes);
            Assert.All(frozen, t => Assert.True(t.IsPacked));
            if (method != "full_ft") Assert.NotEmpty(frozen);
            Assert.All(peft.Targets, target => Assert.Equal(
                !target.Layer.Weight.RequiresGrad && target.Layer.Adapter is { MultipliesWeightAsIs: true }, target.Layer.Weight.IsPacked));
            if (method is "lora" or "adalora" or "vera" or "ia3") Assert.Contains(peft.Targets, target => target.Layer.Weight.IsPacked);
            if (method is "dora" or "sift" or "ssb") Assert.DoesNotContain(peft.Targets, target => target.Layer.Weight.IsPacked);
        });
        var (plain, plainWeights) = TrainCase(fixture, method);

        Assert.Equal(plain.Losses, packed.Losses);
        Assert.Equal(plainWeights, packedWeights);
    }

    [Fact]
    public void GradientAccumulation_OfTwoHalves_EqualsOneStepOnTheWholeBatch()
    {
        var common = new TrainerOptions { MaxSteps = 3, Shuffle = false, Dropout = false, Schedule = ScheduleKind.Constant };
        var (whole, data) = Load();
        var wholeResult = new Trainer(whole, Optimizer(whole), common with { BatchSize = 4 }).Train(data);
        var (halves, _) = Load();
        var halvesResult = new Trainer(halves, Optimizer(halves), common with { BatchSize = 2, GradientAccumulation = 2 }).Train(data);

        Assert.Equal(TrainingStatus.Completed, halvesResult.Status);
        Assert.Equal(3, halvesResult.Steps);
        for (var i = 0; i < 3; i++) Assert.Equal(wholeResult.Losses[i], halvesResult.Losses[i], 1e-6f);
        AssertClose(Snapshot(whole), Snapshot(halves), 1e-6);
        Assert.NotEqual(0f, whole.Trainable.Sum(p => p.Value.ToArray().Sum(MathF.Abs)));
    }

    /// <summary>
    /// The causal-LM fixture's rows hold different numbers of labelled tokens (padding is −100), so the mean of two
    /// micro-batches' means would weigh the tokens of the shorter rows more than one step on all four rows does.
    /// </summary>
    [Fact]
    public void GradientAccumulation_WeighsEveryLabelledTokenTheSame_AsOneStepOnTheWholeBatch()
    {
        var options = new PeftOptions { Method = "lora", Targets = TargetSpec.Parse("q,v") };
        var common = new TrainerOptions { MaxSteps = 2, Shuffle = false, Dropout = false, Schedule = ScheduleKind.Constant };
        var (whole, data) = Load(options, "llama_lm__base");
        var counts = Enumerable.Range(0, 2).Select(m => whole.Model.LossItems(data.Select([2 * m, 2 * m + 1]))).ToList();
        Assert.NotEqual(counts[0], counts[1]);
        var wholeResult = new Trainer(whole, Optimizer(whole), common with { BatchSize = 4 }).Train(data);
        var (halves, _) = Load(options, "llama_lm__base");
        var halvesResult = new Trainer(halves, Optimizer(halves), common with { BatchSize = 2, GradientAccumulation = 2 }).Train(data);

        for (var i = 0; i < 2; i++) Assert.Equal(wholeResult.Losses[i], halvesResult.Losses[i], 1e-6f);
        AssertClose(Snapshot(whole), Snapshot(halves), 1e-6);
    }

    /// <summary>A micro-batch whose labels are all −100 adds nothing to the step, rather than stopping the run.</summary>
    [Fact]
    public void AMicroBatchWithoutLabelledTokens_AddsNothingToItsStep()
    {
        var options = new PeftOptions { Method = "lora", Targets = TargetSpec.Parse("q,v") };
        var common = new TrainerOptions { MaxSteps = 2, Shuffle = false, Dropout = false, Schedule = ScheduleKind.Constant, BatchSize = 1 };
        var (alone, data) = Load(options, "llama_lm__base");
        var first = data.Select([0]);
        var aloneResult = new Trainer(alone, Optimizer(alone), common).Train(first);
        var (padded, _) = Load(options, "llama_lm__base");
        var unlabelled = data.Select([1]) with { TokenLabels = Enumerable.Repeat(-100, data.Length).ToArray() };
        var both = new ModelBatch(2, data.Length, [.. first.InputIds, .. unlabelled.InputIds], [.. first.AttentionMask, .. unlabelled.AttentionMask])
        {
            TokenLabels = [.. first.TokenLabels!, .. unlabelled.TokenLabels],
        };
        var paddedResult = new Trainer(padded, Optimizer(padded), common with { GradientAccumulation = 2, Epochs = 2, MaxSteps = null }).Train(both);

        Assert.Equal(TrainingStatus.Completed, paddedResult.Status);
        Assert.Equal(aloneResult.Losses, paddedResult.Losses);
        AssertClose(Snapshot(alone), Snapshot(padded), 0);
    }

    [Fact]
    public void RowsWhoseLabelsAreAllIgnored_AreRefusedBeforeTraining()
    {
        var (peft, data) = Load();
        var unlabelled = data with { ClassLabels = Enumerable.Repeat(-100, data.Batch).ToArray() };
        var e = Assert.Throws<InvalidDataException>(() => new Trainer(peft, Optimizer(peft), new TrainerOptions()).Train(unlabelled));
        Assert.Contains("−100", e.Message);
    }

    [Fact]
    public void Epochs_CountPartialMicroBatchesAndReportThroughput()
    {
        var (peft, data) = Load();
        var result = new Trainer(peft, Optimizer(peft), new TrainerOptions { Epochs = 2, BatchSize = 3 }).Train(data);
        Assert.Equal(TrainingStatus.Completed, result.Status);
        Assert.Equal(4, result.Steps);
        Assert.Equal(4, result.Losses.Count);
        Assert.True(result.TokensPerSecond > 0 && result.SecondsPerStep > 0);
    }

    [Fact]
    public void Clipping_ScalesTheGlobalNormDownToTheMaximum()
    {
        var a = Tensor.FromArray([3f, 0f], 2);
        var b = Tensor.FromArray([0f], 1);
        a.Grad = Tensor.FromArray([3f, 0f], 2);
        b.Grad = Tensor.FromArray([4f], 1);
        var norm = GradientClipping.ClipGlobalNorm([a, b], 1.0);
        Assert.Equal(5.0, norm, 6);
        var clipped = Math.Sqrt(a.Grad.ToArray().Concat(b.Grad.ToArray()).Sum(v => (double)v * v));
        Assert.Equal(5.0 / (5.0 + 1e-6), clipped, 6);
        Assert.True(clipped <= 1.0);
    }

    [Fact]
    public void Clipping_LeavesGradientsBelowTheMaximum()
    {
        var a = Tensor.FromArray([0f, 0f], 2);
        a.Grad = Tensor.FromArray([0.3f, 0.4f], 2);
        Assert.Equal(0.5, GradientClipping.ClipGlobalNorm([a], 1.0), 6);
        Assert.Equal([0.3f, 0.4f], a.Grad.ToArray());
    }

    [Fact]
    public void ANaNLossMidRun_EndsTheRunAsDivergedWithoutThrowing()
    {
        var (peft, data) = Load();
        var trainer = new Trainer(peft, Optimizer(peft), new TrainerOptions { MaxSteps = 10, BatchSize = 4, EvaluateEvery = 2 })
        {
            // After step 2 a weight turns NaN, as an overflow would leave it, so step 3's loss is NaN.
            Evaluate = step =>
            {
                if (step == 2) peft.Trainable[^1].Value.AsSpan()[0] = float.NaN;
                return new Dictionary<string, double>();
            },
        };
        var result = trainer.Train(data);
        Assert.Equal(TrainingStatus.Diverged, result.Status);
        Assert.Equal(2, result.Steps);
        Assert.Equal(2, result.Losses.Count);
        Assert.All(result.Losses, l => Assert.True(float.IsFinite(l)));
        Assert.All(peft.Trainable, p => Assert.Null(p.Value.Grad));
        Assert.Single(result.Evaluations);
    }

    [Fact]
    public void AnOverflowingLearningRate_EndsTheRunAsDiverged()
    {
        var (peft, data) = Load();
        var result = new Trainer(peft, Optimizer(peft, lr: 1e38), new TrainerOptions { MaxSteps = 10, BatchSize = 4, Schedule = ScheduleKind.Constant }).Train(data);
        Assert.Equal(TrainingStatus.Diverged, result.Status);
        Assert.InRange(result.Steps, 1, 9);
    }

    [Fact]
    public void Evaluation_RunsEveryNStepsAndAfterTheLast()
    {
        var (peft, data) = Load();
        var calls = new List<int>();
        var trainer = new Trainer(peft, Optimizer(peft), new TrainerOptions { MaxSteps = 5, BatchSize = 2, EvaluateEvery = 2 })
        {
            Evaluate = step =>
            {
                calls.Add(step);
                return new Dictionary<string, double> { ["step"] = step };
            },
        };
        var result = trainer.Train(data);
        Assert.Equal([2, 4, 5], calls);
        Assert.Equal([2, 4, 5], result.Evaluations.Select(e => e.Step));
        Assert.Equal(4.0, result.Evaluations[1].Metrics["step"]);
    }

    /// <summary>Pearson's r of a constant prediction is NaN; a checkpoint after such an evaluation must still save and resume.</summary>
    [Fact]
    public void ANaNMetric_IsCheckpointedAndResumed()
    {
        var options = new TrainerOptions { MaxSteps = 2, BatchSize = 2, EvaluateEvery = 1, CheckpointEvery = 1, OutputDirectory = Path.Combine(_root, "nan") };
        Func<int, IReadOnlyDictionary<string, double>> evaluate = _ => new Dictionary<string, double> { ["pearson"] = double.NaN };
        var (peft, data) = Load();
        new Trainer(peft, Optimizer(peft), options) { Evaluate = evaluate }.Train(data);
        var (resumed, resumedData) = Load();
        var result = new Trainer(resumed, Optimizer(resumed), options with { MaxSteps = 3, Resume = true }) { Evaluate = evaluate }.Train(resumedData);
        Assert.Equal([1, 2, 3], result.Evaluations.Select(e => e.Step));
        Assert.All(result.Evaluations, e => Assert.True(double.IsNaN(e.Metrics["pearson"])));
    }

    [Fact]
    public void Evaluation_AtTheLastStepIsNotRepeated()
    {
        var (peft, data) = Load();
        var calls = new List<int>();
        var trainer = new Trainer(peft, Optimizer(peft), new TrainerOptions { MaxSteps = 4, BatchSize = 2, EvaluateEvery = 2 })
        {
            Evaluate = step =>
            {
                calls.Add(step);
                return new Dictionary<string, double>();
            },
        };
        trainer.Train(data);
        Assert.Equal([2, 4], calls);
    }

    [Fact]
    public void ResumingFromACheckpoint_EndsWhereAnUninterruptedRunEnds() => AssertResumeMatches(() =>
    {
        var (peft, data) = Load();
        return (peft, Optimizer(peft), data);
    });

    [Fact]
    public void ResumingGaLoreFromACheckpoint_KeepsItsMomentsAndProjections() => AssertResumeMatches(() =>
    {
        var c = FixtureCase.Load("roberta_cls__galore");
        // A gap of 2 makes the resumed run refresh projections itself as well as reuse the saved one.
        var options = new GaLoreOptions { Rank = 2, UpdateProjectionGap = 2, Scale = 0.25, TorchSigns = false };
        return (c.Peft, GaLoreAdamW.Create(c.Peft.Trainable, 1e-2, 1, options), c.Batch);
    });

    [Fact]
    public void ResumingAdaLoraFromACheckpoint_KeepsItsImportanceScores() => AssertResumeMatches(AdaLoraCase);

    [Fact]
    public void ResumingSiftFromACheckpoint_KeepsItsSparseIndices() => AssertResumeMatches(() =>
    {
        // The indices are chosen by the first backward; a resumed run that chose them again from a later gradient
        // would put the saved δ values in other places.
        var (peft, data) = Load(new PeftOptions { Method = "sift", Targets = TargetSpec.Parse("query,value"), SparseRate = 0.05 });
        return (peft, Optimizer(peft), data);
    });

    [Fact]
    public void AnAdaLoraCheckpointWithoutItsScores_IsRefusedByName()
    {
        var options = new TrainerOptions { MaxSteps = 2, BatchSize = 2, CheckpointEvery = 2, OutputDirectory = Path.Combine(_root, "old") };
        var (peft, optimizer, data) = AdaLoraCase();
        new Trainer(peft, optimizer, options).Train(data);
        File.Delete(Path.Combine(_root, "old", "checkpoint-2", "hooks.safetensors"));
        var resumed = AdaLoraCase();
        var error = Assert.Throws<InvalidDataException>(() =>
            new Trainer(resumed.Peft, resumed.Optimizer, options with { MaxSteps = 4, Resume = true }).Train(resumed.Data));
        Assert.Contains("checkpoint-2", error.Message);
        Assert.Contains("hooks.safetensors", error.Message);
    }

    /// <summary>
    /// A checkpoint directory this trainer did not write, such as a Hugging Face Trainer's (its trainer_state.json
    /// has no seed and a different layout), or a state file cut short, stops the resume with the file's path.
    /// </summary>
    [Theory]
    [InlineData("{\"global_step\": 500, \"log_history\": []}", "no \"seed\"")]
    [InlineData("{\"step\": 2, \"seed\": \"0\", \"losses\": [0.5, null], \"evaluations\": []}", "a null in \"losses\"")]
    [InlineData("{\"step\": 2, \"seed\": \"0\", \"los", "not a checkpoint state")]
    public void AForeignOrDamagedCheckpointState_IsRefusedWithItsPath(string state, string reason)
    {
        var dir = Path.Combine(_root, "foreign", "checkpoint-500");
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "trainer_state.json"), state);
        var (peft, data) = Load();
        var error = Assert.Throws<InvalidDataException>(() => new Trainer(peft, Optimizer(peft),
            new TrainerOptions { MaxSteps = 2, BatchSize = 2, OutputDirectory = Path.Combine(_root, "foreign"), Resume = true }).Train(data));
        Assert.Contains(Path.Combine(dir, "trainer_state.json"), error.Message);
        Assert.Contains(reason, error.Message);
    }

    [Fact]
    public void AnOptimizerStateMissingItsSecondMoments_IsRefusedWithItsPath()
    {
        var options = new TrainerOptions { MaxSteps = 2, BatchSize = 2, CheckpointEvery = 2, OutputDirectory = Path.Combine(_root, "moments") };
        var (peft, data) = Load();
        new Trainer(peft, Optimizer(peft), options).Train(data);
        var path = Path.Combine(_root, "moments", "checkpoint-2", "optimizer.safetensors");
        var state = SafeTensorsFile.LoadAll(path).Where(kv => !kv.Key.StartsWith("v.", StringComparison.Ordinal)).ToList();
        SafeTensorsWriter.Save(path, state);
        var (resumed, resumedData) = Load();
        var error = Assert.Throws<InvalidDataException>(() =>
            new Trainer(resumed, Optimizer(resumed), options with { MaxSteps = 4, Resume = true }).Train(resumedData));
        Assert.Contains(path, error.Message);
        Assert.Contains("v.0", error.Message);
    }

    /// <summary>Moments of LoRA's A [r, in] read into a tensor of another shape but the same size are refused.</summary>
    [Fact]
    public void OptimizerMomentsOfAnotherShape_AreRefused()
    {
        var options = new TrainerOptions { MaxSteps = 2, BatchSize = 2, CheckpointEvery = 2, OutputDirectory = Path.Combine(_root, "shapes") };
        var (peft, data) = Load();
        new Trainer(peft, Optimizer(peft), options).Train(data);
        var path = Path.Combine(_root, "shapes", "checkpoint-2", "optimizer.safetensors");
        var state = SafeTensorsFile.LoadAll(path);
        var m = state["m.0"];
        Assert.Equal(2, m.Rank);
        Assert.NotEqual(m.Dim(0), m.Dim(1));
        state["m.0"] = Tensor.FromArray(m.ToArray(), m.Dim(1), m.Dim(0));
        SafeTensorsWriter.Save(path, state);
        var (resumed, _) = Load();
        var error = Assert.Throws<InvalidDataException>(() => new Trainer(resumed, Optimizer(resumed), options with { MaxSteps = 4, Resume = true }).Train(data));
        Assert.Contains(path, error.Message);
        Assert.Contains("moments of shape", error.Message);
    }

    /// <summary>
    /// AdaLoRA on query and value of the tiny classifier, pruning after every step from the second: the scores after
    /// a checkpoint at step 3 are smoothed over the steps before it, and the schedule (20 steps) is still scoring at 6.
    /// </summary>
    private static (PeftModel Peft, IOptimizer Optimizer, ModelBatch Data) AdaLoraCase()
    {
        var (peft, data) = Load(new PeftOptions
        {
            Method = "adalora", Targets = TargetSpec.Parse("query,value"),
            AdaLora = new AdaLoraOptions { InitR = 4, TargetR = 2, Tinit = 1, Tfinal = 2, TotalStep = 20 },
        });
        return (peft, Optimizer(peft), data);
    }

    /// <summary>
    /// Dropout, shuffling across epochs, warm-up, clipping and the optimizer's state all have to carry over. The run is
    /// stopped after step 2, between the steps that take checkpoints: stopping saves one of its own.
    /// </summary>
    private void AssertResumeMatches(Func<(PeftModel Peft, IOptimizer Optimizer, ModelBatch Data)> create)
    {
        var options = new TrainerOptions
        {
            MaxSteps = 6, BatchSize = 2, Schedule = ScheduleKind.Linear, WarmupSteps = 2, MaxGradNorm = 0.5,
            CheckpointEvery = 3, Seed = 7,
        };
        var straight = create();
        var straightResult = new Trainer(straight.Peft, straight.Optimizer, options with { OutputDirectory = Path.Combine(_root, "straight") }).Train(straight.Data);

        var interruptedDir = Path.Combine(_root, "interrupted");
        var first = create();
        using var stop = new CancellationTokenSource();
        var firstResult = new Trainer(first.Peft, first.Optimizer, options with { OutputDirectory = interruptedDir, EvaluateEvery = 2 })
        {
            Evaluate = _ =>
            {
                stop.Cancel();
                return new Dictionary<string, double>();
            },
        }.Train(first.Data, stop.Token);
        Assert.Equal(TrainingStatus.Cancelled, firstResult.Status);
        Assert.Equal(2, firstResult.Steps);
        Assert.True(File.Exists(Path.Combine(interruptedDir, "checkpoint-2", "optimizer.safetensors")));

        var resumed = create();
        var resumedResult = new Trainer(resumed.Peft, resumed.Optimizer, options with { OutputDirectory = interruptedDir, Resume = true }).Train(resumed.Data);
        Assert.Equal(TrainingStatus.Completed, resumedResult.Status);
        Assert.Equal(6, resumedResult.Steps);
        Assert.Equal(straightResult.Losses, resumedResult.Losses);
        AssertClose(Snapshot(straight.Peft), Snapshot(resumed.Peft), 1e-6);
        // What the method carries between steps (AdaLoRA's smoothed scores) must come out the same to the bit.
        var hooks = Path.Combine("checkpoint-6", "hooks.safetensors");
        Assert.Equal(straight.Peft.HasHookState, File.Exists(Path.Combine(interruptedDir, hooks)));
        if (!straight.Peft.HasHookState) return;
        using var expected = SafeTensorsFile.Open(Path.Combine(_root, "straight", hooks));
        using var actual = SafeTensorsFile.Open(Path.Combine(interruptedDir, hooks));
        Assert.Equal(expected.Names.Order(), actual.Names.Order());
        Assert.NotEmpty(expected.Names);
        foreach (var name in expected.Names) Assert.True(expected.GetBytes(name).SequenceEqual(actual.GetBytes(name)), name);
    }

    public static TheoryData<string, string> ChangedSettings => new()
    {
        { "batch size", "batch_size" }, { "accumulation", "gradient_accumulation" }, { "schedule", "schedule" },
        { "data", "data" }, { "caller's setting", "lr" },
    };

    /// <summary>A checkpoint resumes only the run that took it: one setting changed is refused, naming it.</summary>
    [Theory]
    [MemberData(nameof(ChangedSettings))]
    public void ResumingWithOtherSettings_IsRefusedNamingThem(string change, string named)
    {
        var dir = Path.Combine(_root, "settings");
        var options = new TrainerOptions
        {
            MaxSteps = 2, BatchSize = 2, CheckpointEvery = 1, OutputDirectory = dir,
            RunSettings = new Dictionary<string, string> { ["lr"] = "0.01" },
        };
        var (peft, data) = Load();
        Assert.Equal(TrainingStatus.Completed, new Trainer(peft, Optimizer(peft), options).Train(data).Status);

        var resume = options with { Resume = true };
        var (again, _) = Load();
        var changedData = data;
        switch (change)
        {
            case "batch size": resume = resume with { BatchSize = 1 }; break;
            case "accumulation": resume = resume with { GradientAccumulation = 2 }; break;
            case "schedule": resume = resume with { Schedule = ScheduleKind.Cosine }; break;
            case "data": changedData = data with { ClassLabels = data.ClassLabels!.Select(l => 1 - l).ToArray() }; break;
            default: resume = resume with { RunSettings = new Dictionary<string, string> { ["lr"] = "0.02" } }; break;
        }
        var e = Assert.Throws<InvalidDataException>(() => new Trainer(again, Optimizer(again), resume).Train(changedData));
        Assert.Contains("checkpoint-2", e.Message);
        Assert.Contains($"{named} ", e.Message);

        var (same, _) = Load();
        Assert.Equal(TrainingStatus.Completed, new Trainer(same, Optimizer(same), options with { Resume = true }).Train(data).Status);
    }

    /// <summary>
    /// A checkpoint taken after more steps than this run has would end it at once with that run's weights: refused.
    /// More steps continue it.
    /// </summary>
    [Fact]
    public void ResumingFromACheckpointPastTheRunsLastStep_IsRefused()
    {
        var options = new TrainerOptions { MaxSteps = 3, BatchSize = 2, CheckpointEvery = 3, OutputDirectory = Path.Combine(_root, "past") };
        var (peft, data) = Load();
        new Trainer(peft, Optimizer(peft), options).Train(data);
        var (shorter, _) = Load();
        var e = Assert.Throws<InvalidDataException>(() => new Trainer(shorter, Optimizer(shorter), options with { MaxSteps = 2, Resume = true }).Train(data));
        Assert.Contains("checkpoint-3", e.Message);
        Assert.Contains("past this run's 2 steps", e.Message);
        var (longer, _) = Load();
        Assert.Equal(4, new Trainer(longer, Optimizer(longer), options with { MaxSteps = 4, Resume = true }).Train(data).Steps);
    }

    [Fact]
    public void ATimedCheckpointFollowsEveryStepOnceItsIntervalHasPassed_AndOnlyTheNewestIsKept()
    {
        var dir = Path.Combine(_root, "timed");
        var (peft, data) = Load();
        var options = new TrainerOptions
        {
            MaxSteps = 4, BatchSize = 2, Seed = 5, OutputDirectory = dir, CheckpointInterval = TimeSpan.FromTicks(1), KeepCheckpoints = 1,
        };
        new Trainer(peft, Optimizer(peft), options).Train(data);
        Assert.Equal(["checkpoint-4"], Directory.GetDirectories(dir).Select(Path.GetFileName));
        Assert.Equal(4, System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "checkpoint-4", "trainer_state.json")))!["step"]!.GetValue<int>());
        // A day-long interval never comes round in a short run.
        var (other, _) = Load();
        new Trainer(other, Optimizer(other), options with { OutputDirectory = Path.Combine(_root, "untimed"), CheckpointInterval = TimeSpan.FromDays(1) }).Train(data);
        Assert.False(Directory.Exists(Path.Combine(_root, "untimed")));
    }

    [Theory]
    [InlineData(0, null)]
    [InlineData(-1, null)]
    [InlineData(1, 0)]
    public void ABadCheckpointIntervalOrKeepCountIsRefused(int seconds, int? keep)
    {
        var (peft, data) = Load();
        var options = new TrainerOptions
        {
            MaxSteps = 1, OutputDirectory = _root, CheckpointInterval = TimeSpan.FromSeconds(seconds), KeepCheckpoints = keep,
        };
        Assert.Throws<ArgumentException>(() => new Trainer(peft, Optimizer(peft), options).Train(data));
    }

    [Fact]
    public void AResumedRunWithoutOptimizerState_RestartsTheMomentsAndDeparts()
    {
        // What happens with an optimizer that cannot be checkpointed: the adapter and position resume, the moments do not.
        var options = new TrainerOptions { MaxSteps = 4, BatchSize = 2, CheckpointEvery = 2, Schedule = ScheduleKind.Constant, Seed = 3 };
        var (straight, data) = Load();
        new Trainer(straight, Optimizer(straight), options with { OutputDirectory = Path.Combine(_root, "straight") }).Train(data);
        var dir = Path.Combine(_root, "interrupted");
        var (first, _) = Load();
        new Trainer(first, Optimizer(first), options with { OutputDirectory = dir, MaxSteps = 2 }).Train(data);
        File.Delete(Path.Combine(dir, "checkpoint-2", "optimizer.safetensors"));
        var (resumed, _) = Load();
        var result = new Trainer(resumed, Optimizer(resumed), options with { OutputDirectory = dir, Resume = true }).Train(data);
        Assert.Equal(4, result.Steps);
        var difference = Snapshot(straight).Zip(Snapshot(resumed)).Max(t => t.First.Zip(t.Second).Max(v => Math.Abs(v.First - v.Second)));
        Assert.True(difference > 1e-6, $"largest difference {difference}");
    }

    [Fact]
    public void TheTrainerClipsBeforeEveryOptimizerStep()
    {
        var (peft, data) = Load();
        var recorder = new NormRecorder(peft, Optimizer(peft, lr: 1));
        var result = new Trainer(peft, recorder, new TrainerOptions { MaxSteps = 4, BatchSize = 2, MaxGradNorm = 1e-3 }).Train(data);
        Assert.Equal(TrainingStatus.Completed, result.Status);
        Assert.Equal(4, recorder.Norms.Count);
        Assert.All(recorder.Norms, n => Assert.True(n <= 1e-3 * (1 + 1e-5), $"norm {n}"));
    }

    /// <summary>Records the gradients' global norm as the optimizer sees it, then steps.</summary>
    private sealed class NormRecorder(PeftModel peft, IOptimizer inner) : IOptimizer
    {
        public List<double> Norms { get; } = [];

        public double LearningRateScale
        {
            get => inner.LearningRateScale;
            set => inner.LearningRateScale = value;
        }

        public void Step()
        {
            Norms.Add(Math.Sqrt(peft.Trainable.Where(p => p.Value.Grad != null).Sum(p => p.Value.Grad!.ToArray().Sum(v => (double)v * v))));
            inner.Step();
        }

        public void ZeroGrad() => inner.ZeroGrad();
    }

    [Fact]
    public void GlueEvaluation_ScoresArgmaxPredictions()
    {
        var (peft, data) = Load();
        var metrics = GlueEvaluation.Evaluate(peft, [data.Select([0, 1]), data.Select([2, 3])], GlueTasks.Sst2);
        Tensor logits;
        using (GradMode.NoGrad()) logits = peft.Forward(data, ForwardContext.Inference).Logits;
        var values = logits.ToArray();
        var width = values.Length / data.Batch;
        var correct = Enumerable.Range(0, data.Batch)
            .Count(r => (values[r * width + 1] > values[r * width] ? 1 : 0) == data.ClassLabels![r]);
        Assert.Equal((double)correct / data.Batch, metrics["Accuracy"], 12);
    }

    [Fact]
    public void GlueEvaluation_ScoresRegressionOutputsAsTheyAre()
    {
        var c = FixtureCase.Load("roberta_reg__lora");
        var metrics = GlueEvaluation.Evaluate(c.Peft, [c.Batch], GlueTasks.Stsb);
        float[] predictions;
        using (GradMode.NoGrad()) predictions = c.Peft.Forward(c.Batch, ForwardContext.Inference).Logits.ToArray();
        var expected = CorrelationMetrics.Pearson(predictions.Select(v => (double)v).ToArray(), c.Batch.RegressionLabels!.Select(v => (double)v).ToArray());
        Assert.Equal(expected, metrics["Pearson"], 12);
        Assert.Contains("Spearman", metrics.Keys);
    }

    [Fact]
    public void AnIntervalOfZero_IsRefusedUpFront()
    {
        var (peft, data) = Load();
        Assert.Throws<ArgumentException>(() => new Trainer(peft, Optimizer(peft), new TrainerOptions { EvaluateEvery = 0 }).Train(data));
    }
}
