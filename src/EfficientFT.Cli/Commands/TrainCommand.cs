using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using EfficientFT.Bench.Reporting;
using EfficientFT.Models;
using EfficientFT.Models.Data;
using EfficientFT.Models.Hub;
using EfficientFT.Models.IO;
using EfficientFT.Peft;
using EfficientFT.Peft.Methods;
using EfficientFT.Tensors;
using EfficientFT.Training;
using EfficientFT.Training.Optimizers;
using EfficientFT.Training.Schedules;

namespace EfficientFT.Cli.Commands;

/// <summary>
/// `train`: fine-tunes a model with one method on pre-tokenized rows and writes the adapter (or, for a method that
/// has no adapter file, the merged model) and train_log.jsonl with the loss of every step.
/// </summary>
public static class TrainCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "Base model directory, or a repository id (org/name, or a canonical name) in the Hugging Face cache.", Required = true };
        var method = new Option<string>("--method") { Description = $"One of: {string.Join(", ", PeftMethods.Registry.Keys)} (see `eft methods`).", DefaultValueFactory = _ => "lora" };
        var targets = new Option<string>("--targets") { Description = "Modules to adapt: names (q,v or query,value), comma-separated.", DefaultValueFactory = _ => "q,v" };
        var pattern = new Option<string?>("--target-pattern") { Description = "A regex over module paths instead of names." };
        var layers = new Option<int[]?>("--layers") { Description = "Only these layer indices.", AllowMultipleArgumentsPerToken = true };
        var rank = new Option<int>("--rank") { Description = "r (LoRA family, AdaLoRA target rank, GaLore rank, VeRA).", DefaultValueFactory = _ => 8 };
        var alpha = new Option<double>("--alpha") { Description = "α (scaling α/r, or α/√r for rslora).", DefaultValueFactory = _ => 8 };
        var dropout = new Option<double>("--dropout") { Description = "Adapter input dropout." };
        var lrRatio = new Option<string?>("--lr-ratio") { Description = "v=λ: the V projection's tensors learn at λ·lr (EfficientFT's second insight)." };
        var loraPlus = new Option<double?>("--loraplus-ratio") { Description = "LoRA+: lora_B (and 1-D tensors, as peft) at ratio·lr; default 16 for --method loraplus." };
        var mpc = new Option<string?>("--mpc") { Description = "Matrix pattern constraint KIND:COEF, KIND orthogonal|diagonal|nonlinear." };
        var sparseRate = new Option<double>("--sparse-rate") { Description = "SIFT: share of each targeted tensor that trains.", DefaultValueFactory = _ => 0.2 };
        var adaInit = new Option<int?>("--adalora-init-r") { Description = "AdaLoRA: initial rank (default 1.5·--rank, as peft's 12 for 8)." };
        var galoreGap = new Option<int>("--galore-gap") { Description = "GaLore: steps between projection updates.", DefaultValueFactory = _ => 200 };
        var galoreScale = new Option<double>("--galore-scale") { Description = "GaLore: update scale.", DefaultValueFactory = _ => 0.25 };
        var initAdapter = new Option<string?>("--init-adapter") { Description = "Start from a saved adapter (continues a run; reproduces a reference)." };
        var data = new Option<string>("--data") { Description = "JSONL rows: input_ids, attention_mask, label or labels.", Required = true };
        var numLabels = new Option<int?>("--num-labels") { Description = "The classifier's labels (1 regresses, unless the labels are arrays), for a checkpoint with a language-model head or another label set; by default the rows' largest \"label\" + 1, or a multi-label row's entries, where the checkpoint has no classifier." };
        var batchSize = new Option<int>("--batch-size") { Description = "Rows per step.", DefaultValueFactory = _ => 8 };
        var maxSteps = new Option<int>("--max-steps") { Description = "Optimizer steps.", Required = true };
        var lr = new Option<double>("--lr") { Description = "Learning rate.", DefaultValueFactory = _ => 1e-4 };
        var betas = new Option<string>("--betas") { Description = "AdamW β1,β2.", DefaultValueFactory = _ => "0.9,0.999" };
        var eps = new Option<double>("--eps") { Description = "AdamW ε (GaLore's default is 1e-6).", DefaultValueFactory = _ => 1e-8 };
        var weightDecay = new Option<double>("--weight-decay") { Description = "Decoupled weight decay." };
        var noShuffle = new Option<bool>("--no-shuffle") { Description = "Take rows in file order." };
        var schedule = new Option<string>("--schedule") { Description = "Learning-rate schedule: constant, linear or cosine (transformers' default, linear).", DefaultValueFactory = _ => "linear" };
        var warmupSteps = new Option<int>("--warmup-steps") { Description = "Linear warm-up steps of the schedule." };
        var accumulation = new Option<int>("--gradient-accumulation") { Description = "Micro-batches per optimizer step.", DefaultValueFactory = _ => 1 };
        var maxGradNorm = new Option<double>("--max-grad-norm") { Description = "Clip the global gradient norm to this; 0 leaves the gradients as they are (transformers' default, 1).", DefaultValueFactory = _ => 1.0 };
        var checkpointEvery = new Option<int?>("--checkpoint-every") { Description = "Save a checkpoint (adapter, optimizer, trainer state) every N steps." };
        var checkpointMinutes = new Option<double>("--checkpoint-minutes") { Description = "Also save a checkpoint once this many minutes have passed since the last one, and when Ctrl+C stops the run; 0 for neither.", DefaultValueFactory = _ => 10 };
        var keepCheckpoints = new Option<int>("--keep-checkpoints") { Description = "Keep only this many of the newest checkpoints (a resume reads the newest; each holds the trained tensors and optimizer moments).", DefaultValueFactory = _ => 1 };
        var resume = new Option<bool>("--resume") { Description = "Continue from the latest checkpoint in --output." };
        var checkpointing = new Option<bool>("--gradient-checkpointing") { Description = "Recompute each layer's activations in backward instead of keeping them: memory for one layer's activations, for one more forward pass per step." };
        var frozenBf16 = new Option<bool>("--frozen-bf16") { Description = "Hold the frozen weights in bfloat16: half their memory, lossless for a bfloat16 checkpoint; compute stays float32." };
        var packedWeights = PackedWeightsOption.Create();
        var seed = new Option<ulong>("--seed") { Description = "Seed for adapter init, shuffling and dropout." };
        var output = new Option<string>("--output") { Description = "Output directory.", Required = true };
        var command = new Command("train", "Fine-tune a model with a parameter-efficient method.")
        {
            model, method, targets, pattern, layers, rank, alpha, dropout, lrRatio, loraPlus, mpc, sparseRate, adaInit,
            galoreGap, galoreScale, initAdapter, data, numLabels, batchSize, maxSteps, lr, betas, eps, weightDecay, noShuffle, seed, output,
            schedule, warmupSteps, accumulation, maxGradNorm, checkpointEvery, checkpointMinutes, keepCheckpoints, resume, checkpointing,
            frozenBf16, packedWeights,
        };
        command.SetAction(r => CommandErrors.Run(() =>
        {
            var steps = r.GetValue(maxSteps);
            if (steps < 1) throw new ArgumentException($"--max-steps must be at least 1, got {steps}.");
            if (r.GetValue(checkpointMinutes) is < 0 and var badMinutes)
                throw new ArgumentException($"--checkpoint-minutes must not be negative, got {badMinutes}.");
            if (r.GetValue(keepCheckpoints) < 1)
                throw new ArgumentException($"--keep-checkpoints must be at least 1, got {r.GetValue(keepCheckpoints)}.");
            if (r.GetValue(maxGradNorm) is < 0 and var badNorm)
                throw new ArgumentException($"--max-grad-norm must not be negative, got {badNorm}.");
            if (r.GetValue(initAdapter) is { } initFrom
                && new Option[] { method, targets, pattern, layers, rank, alpha, dropout, mpc, sparseRate, adaInit, numLabels }
                    .Where(o => r.GetResult(o) is { Implicit: false }).Select(o => o.Name).ToList() is { Count: > 0 } overridden)
                throw new ArgumentException($"--init-adapter {initFrom} brings its method and its settings (adapter_config.json), so {string.Join(", ", overridden)} would be ignored; leave them out.");
            var name = r.GetValue(method)!;
            var options = new PeftOptions
            {
                Method = name,
                Targets = TargetSpec.Parse(r.GetValue(targets)!, r.GetValue(pattern), r.GetValue(layers) is { Length: > 0 } only ? only : null),
                Rank = r.GetValue(rank),
                Alpha = r.GetValue(alpha),
                Dropout = r.GetValue(dropout),
                Seed = r.GetValue(seed),
                SparseRate = r.GetValue(sparseRate),
                Mpc = ParseMpc(r.GetValue(mpc)),
                AdaLora = name == "adalora"
                    ? new AdaLoraOptions { InitR = r.GetValue(adaInit) ?? r.GetValue(rank) * 3 / 2, TargetR = r.GetValue(rank), TotalStep = steps }
                    : null,
            };
            var trainer = new TrainerOptions
            {
                MaxSteps = steps,
                BatchSize = r.GetValue(batchSize),
                GradientAccumulation = r.GetValue(accumulation),
                MaxGradNorm = r.GetValue(maxGradNorm) is > 0 and var norm ? norm : null,
                Schedule = LearningRateSchedules.Parse(r.GetValue(schedule)!)
                    ?? throw new ArgumentException($"--schedule '{r.GetValue(schedule)}' is not one of constant, linear, cosine."),
                WarmupSteps = r.GetValue(warmupSteps),
                Seed = r.GetValue(seed),
                Shuffle = !r.GetValue(noShuffle),
                GradientCheckpointing = r.GetValue(checkpointing),
                CheckpointEvery = r.GetValue(checkpointEvery),
                CheckpointInterval = r.GetValue(checkpointMinutes) is > 0 and var minutes ? TimeSpan.FromMinutes(minutes) : null,
                KeepCheckpoints = r.GetValue(keepCheckpoints),
                OutputDirectory = r.GetValue(output),
                Resume = r.GetValue(resume),
                // Every option that changes the numbers, as given: a resume with other values would continue another run.
                RunSettings = new Dictionary<string, string?>
                {
                    ["model"] = r.GetValue(model), ["method"] = name, ["targets"] = r.GetValue(targets), ["target_pattern"] = r.GetValue(pattern),
                    ["layers"] = r.GetValue(layers) is { } ls ? string.Join(",", ls) : null, ["rank"] = Text(r.GetValue(rank)),
                    ["alpha"] = Text(r.GetValue(alpha)), ["adapter_dropout"] = Text(r.GetValue(dropout)), ["lr"] = Text(r.GetValue(lr)),
                    ["lr_ratio"] = r.GetValue(lrRatio), ["loraplus_ratio"] = r.GetValue(loraPlus) is { } lp ? Text(lp) : null,
                    ["mpc"] = r.GetValue(mpc), ["sparse_rate"] = Text(r.GetValue(sparseRate)), ["adalora_init_r"] = r.GetValue(adaInit) is { } ai ? Text(ai) : null,
                    ["galore_gap"] = Text(r.GetValue(galoreGap)), ["galore_scale"] = Text(r.GetValue(galoreScale)),
                    ["init_adapter"] = r.GetValue(initAdapter), ["num_labels"] = r.GetValue(numLabels) is { } nl ? Text(nl) : null, ["betas"] = r.GetValue(betas), ["eps"] = Text(r.GetValue(eps)),
                    ["weight_decay"] = Text(r.GetValue(weightDecay)), ["frozen_bf16"] = r.GetValue(frozenBf16) ? "true" : null,
                }.Where(kv => kv.Value != null).ToDictionary(kv => kv.Key, kv => kv.Value!),
            };
            var settings = new Settings(
                r.GetValue(lr), ParseValueRatio(r.GetValue(lrRatio)), r.GetValue(loraPlus) ?? (name == "loraplus" ? 16 : null),
                ParsePair(r.GetValue(betas)!, "--betas"), r.GetValue(eps), r.GetValue(weightDecay), trainer,
                r.GetValue(galoreGap), r.GetValue(galoreScale));
            return Run(r.GetValue(model)!, ModelLocation.Resolve(r.GetValue(model)!), options, r.GetValue(initAdapter), r.GetValue(data)!, r.GetValue(numLabels), r.GetValue(output)!, settings,
                r.GetValue(frozenBf16), PackedWeightsOption.Value(r, packedWeights));
        }));
        return command;
    }

    private sealed record Settings(double LearningRate, double ValueRatio, double? LoraPlusRatio, (double, double) Betas,
        double Eps, double WeightDecay, TrainerOptions Trainer, int GaloreGap, double GaloreScale);

    private static int Run(string modelName, string modelDir, PeftOptions options, string? initAdapter, string dataPath, int? numLabels, string outputDir, Settings s, bool frozenBf16,
        PackedWeights packedWeights)
    {
        var batchSize = s.Trainer.BatchSize;
        if (batchSize < 1) throw new ArgumentException($"--batch-size must be at least 1, got {batchSize}.");
        // As transformers' resume_from_checkpoint=True: asked to resume, a run with nothing to resume from is an error,
        // not a silent start from scratch.
        var checkpoints = Trainer.Checkpoints(outputDir);
        if (s.Trainer.Resume && checkpoints.Count == 0)
            throw new ArgumentException($"--resume: {outputDir} holds no checkpoint (checkpoint-N with trainer_state.json) to continue from.");
        // A fresh run beside an earlier run's checkpoints would have its own pruned as older than those, and a later
        // --resume would continue the other run.
        if (!s.Trainer.Resume && checkpoints.Count > 0)
            throw new ArgumentException($"{outputDir} holds an earlier run's checkpoints ({string.Join(", ", checkpoints.Select(Path.GetFileName))}); pass --resume to continue it, or choose another --output or delete them.");
        var (model, report) = BaseModel.Load(modelDir,
            config => BaseModel.ForTraining(config, modelDir, dataPath, numLabels, initAdapter, batchSize),
            s.Trainer.Seed, frozenBf16);
        // Training reads only the loss, so a language-model head runs at its targets alone (same loss and gradients).
        model.LogitsAtTargetsOnly = true;
        var rows = JsonlBatchReader.Read(dataPath, model.ModelConfig);
        try
        {
            Trainer.RequireTargets(model, rows);
        }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException($"{dataPath}: {e.Message}", e);
        }
        var initBatches = OptimizerSetup.InitBatches(options.Method, rows, batchSize);
        var peft = initAdapter != null ? PeftModel.LoadAdapter(model, initAdapter) : PeftModel.Create(model, options, initBatches);
        if (report.NewlyInitialized.Where(name => !peft.HeadFromAdapter.Contains(name)).ToList() is { Count: > 0 } fresh)
            Console.Error.WriteLine($"eft: note: {model.Architecture} head initialised fresh: {string.Join(", ", fresh)}");
        var optimizer = OptimizerSetup.Create(peft, new OptimizerSettings
        {
            LearningRate = s.LearningRate, ValueRatio = s.ValueRatio, LoraPlusRatio = s.LoraPlusRatio, Beta1 = s.Betas.Item1,
            Beta2 = s.Betas.Item2, Eps = s.Eps, WeightDecay = s.WeightDecay, GaloreGap = s.GaloreGap, GaloreScale = s.GaloreScale,
        });
        Console.WriteLine($"{peft.Method.Name} on {peft.Targets.Count} modules of {model.Architecture}: {peft.TrainableCount:N0} trainable parameters ({peft.TrainableShare:P3} of the model)");
        if (frozenBf16)
        {
            var held = model.NamedTensors().Select(p => p.Value).Where(t => t.IsBFloat16).Distinct().Sum(t => 2L * t.Size);
            Console.WriteLine($"frozen weights in bfloat16: {Format.Bytes(held)} ({Format.Bytes(2 * held)} in float32)");
        }
        var (packed, why) = FrozenWeightPacking.Apply(model, packedWeights, Math.Min(batchSize, rows.Batch) * rows.Length,
            Threading.Count);
        if (packed > 0) Console.WriteLine($"frozen linear weights packed for the matrix products: {Format.Bytes(packed)} more ({why})");

        Directory.CreateDirectory(outputDir);
        var tokensPerStep = (double)rows.AttentionMask.Sum(v => (long)v) / rows.Batch * batchSize * s.Trainer.GradientAccumulation;
        using var ctrlC = new ConsoleRun.CtrlC();
        var result = ConsoleRun.Train(new Trainer(peft, optimizer, s.Trainer), rows, "training", tokensPerStep, ctrlC.Token);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{result.Status}: {result.Steps} steps, last loss {result.Losses.LastOrDefault():G6}, {result.SecondsPerStep * 1e3:F0} ms/step, {result.TokensPerSecond:F0} tokens/s"));
        if (result.Status == TrainingStatus.Cancelled)
        {
            var checkpoint = Path.Combine(outputDir, $"checkpoint-{result.Steps}");
            Console.Error.WriteLine(Trainer.Checkpoints(outputDir).Contains(checkpoint)
                ? $"eft: stopped after step {result.Steps}; {checkpoint} holds it: run the same command with --resume to continue."
                : $"eft: stopped after step {result.Steps}; no checkpoint was saved to resume from.");
            return 130;
        }
        var logPath = Path.Combine(outputDir, "train_log.jsonl");
        var adapterDir = Path.Combine(outputDir, "adapter");
        if (result.Status == TrainingStatus.Diverged)
        {
            WriteLog(logPath, result);
            Console.Error.WriteLine($"eft: training diverged at step {result.DivergedStep}; no adapter written ({logPath} has the losses).");
            foreach (var earlier in new[] { adapterDir, Path.Combine(outputDir, "merged") }.Where(Directory.Exists))
                Console.Error.WriteLine($"eft: {earlier} is from an earlier run, not this one.");
            return 3;
        }
        // The trained weights first: a log that cannot be written then costs the log, not the run.
        string wrote;
        try
        {
            peft.SaveAdapter(adapterDir, modelName);
            wrote = adapterDir;
        }
        catch (NotSupportedException e)
        {
            // Some methods have no adapter file (SIFT's values mean nothing without their indices): keep the result as
            // a merged model rather than lose it.
            var merged = Path.Combine(outputDir, "merged");
            Pretrained.Save(peft.MergeAndUnload(), merged);
            Console.WriteLine(e.Message);
            wrote = $"the merged model to {merged}";
        }
        WriteLog(logPath, result);
        Console.WriteLine($"wrote {wrote} and {logPath}");
        return 0;
    }

    private static void WriteLog(string path, TrainingResult result) => AtomicFile.WriteAllLines(path,
        result.Losses.Select((loss, i) => new JsonObject { ["step"] = i + 1, ["loss"] = loss }.ToJsonString()));

    private static string Text(double value) => value.ToString("R", CultureInfo.InvariantCulture);

    private static double ParseValueRatio(string? text)
    {
        if (text == null) return 1;
        var parts = text.Split('=');
        if (parts.Length != 2 || parts[0].Trim() != "v" || !double.TryParse(parts[1], NumberStyles.Float, CultureInfo.InvariantCulture, out var ratio) || ratio <= 0)
            throw new ArgumentException($"--lr-ratio '{text}' is not of the form v=λ with λ > 0.");
        return ratio;
    }

    private static (double, double) ParsePair(string text, string option)
    {
        var parts = text.Split(',');
        if (parts.Length == 2 && double.TryParse(parts[0], NumberStyles.Float, CultureInfo.InvariantCulture, out var a)
            && double.TryParse(parts[1], NumberStyles.Float, CultureInfo.InvariantCulture, out var b))
            return (a, b);
        throw new ArgumentException($"{option} '{text}' is not two comma-separated numbers.");
    }

    private static MpcOptions? ParseMpc(string? text) =>
        text == null ? null : MpcOptions.TryParse(text) ?? throw new ArgumentException($"--mpc '{text}' is not {MpcOptions.Expected}.");
}
