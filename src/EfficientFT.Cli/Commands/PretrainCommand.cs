using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using EfficientFT.Models;
using EfficientFT.Models.Configs;
using EfficientFT.Models.IO;
using EfficientFT.Models.Roberta;
using EfficientFT.Models.SafeTensors;
using EfficientFT.Models.Tokenizers;
using EfficientFT.Models.Tokenizers.Training;
using EfficientFT.Peft;
using EfficientFT.Tensors;
using EfficientFT.Training;
using EfficientFT.Training.Optimizers;
using EfficientFT.Training.Pretraining;

namespace EfficientFT.Cli.Commands;

/// <summary>
/// `pretrain`: masked-LM pretraining of a small RoBERTa from plain text, from tokenizer to a Hugging Face model
/// directory. Masking is static (<c>--dupe-factor</c> differently seeded masked copies of every block, BERT's dupe
/// factor) so that the data is one fixed batch and the Trainer, with its checkpoints and resumption, runs unchanged.
/// The run is assembled in OUTPUT.partial and renamed to OUTPUT at the end, so OUTPUT is either absent or complete.
/// </summary>
public static class PretrainCommand
{
    public static Command Create()
    {
        var corpus = new Option<string[]>("--corpus") { Description = "Text files, one document per line (.jsonl: a \"text\" field per line).", Required = true, AllowMultipleArgumentsPerToken = true };
        var output = new Option<string>("--output") { Description = "Model directory to create (Hugging Face layout).", Required = true };
        var tokenizer = new Option<string?>("--tokenizer") { Description = "A tokenizer.json (or a directory holding one) to use; without it a byte-level BPE is trained on the training documents." };
        var vocabSize = new Option<int>("--vocab-size") { Description = "Vocabulary of the trained tokenizer.", DefaultValueFactory = _ => 8000 };
        var minFrequency = new Option<int>("--min-frequency") { Description = "Trained tokenizer: merge only pairs seen this often.", DefaultValueFactory = _ => 2 };
        var layers = new Option<int>("--layers") { Description = "Transformer layers.", DefaultValueFactory = _ => 4 };
        var hidden = new Option<int>("--hidden") { Description = "Hidden size.", DefaultValueFactory = _ => 128 };
        var heads = new Option<int>("--heads") { Description = "Attention heads.", DefaultValueFactory = _ => 4 };
        var intermediate = new Option<int>("--intermediate") { Description = "Feed-forward size.", DefaultValueFactory = _ => 512 };
        var maxLength = new Option<int>("--max-length") { Description = "Tokens per block, <s> and </s> included.", DefaultValueFactory = _ => 128 };
        var steps = new Option<int>("--steps") { Description = "Optimizer steps.", DefaultValueFactory = _ => 1000 };
        var batchSize = new Option<int>("--batch-size") { Description = "Blocks per step.", DefaultValueFactory = _ => 32 };
        var lr = new Option<double>("--lr") { Description = "Peak learning rate (linear warm-up, then linear decay to 0).", DefaultValueFactory = _ => 5e-4 };
        var warmup = new Option<int?>("--warmup-steps") { Description = "Warm-up steps (default 6% of --steps, rounded up as transformers' warmup_ratio)." };
        var weightDecay = new Option<double>("--weight-decay") { Description = "AdamW decoupled weight decay (not on biases and norms).", DefaultValueFactory = _ => 0.01 };
        var maxGradNorm = new Option<double>("--max-grad-norm") { Description = "Clip the global gradient norm.", DefaultValueFactory = _ => 1.0 };
        var maskProbability = new Option<double>("--mask-probability") { Description = "Share of tokens that become targets (80% <mask>, 10% random, 10% kept).", DefaultValueFactory = _ => 0.15 };
        var noDropout = new Option<bool>("--no-dropout") { Description = "Pretrain without dropout (short runs of small models underfit; the saved config keeps RoBERTa's 0.1 for fine-tuning)." };
        var dupeFactor = new Option<int>("--dupe-factor") { Description = "Differently masked copies of every block.", DefaultValueFactory = _ => 4 };
        var holdout = new Option<double>("--holdout") { Description = "Share of documents kept out for the held-out MLM loss.", DefaultValueFactory = _ => 0.05 };
        var evalEvery = new Option<int?>("--eval-every") { Description = "Also measure the held-out loss every N steps." };
        var seed = new Option<ulong>("--seed") { Description = "Seed for the split, initialisation, masking, shuffling and dropout." };
        var checkpointEvery = new Option<int?>("--checkpoint-every") { Description = "Save a checkpoint in OUTPUT.partial every N steps." };
        var resume = new Option<bool>("--resume") { Description = "Continue the unfinished run in OUTPUT.partial from its latest checkpoint." };
        var dtype = new Option<string>("--dtype") { Description = "Saved weights: f32 or f16.", DefaultValueFactory = _ => "f32" };
        var command = new Command("pretrain", "Pretrain a small RoBERTa with masked language modelling on plain text.")
        {
            corpus, output, tokenizer, vocabSize, minFrequency, layers, hidden, heads, intermediate, maxLength, steps, batchSize,
            lr, warmup, weightDecay, maxGradNorm, maskProbability, dupeFactor, holdout, evalEvery, seed, checkpointEvery, resume, dtype, noDropout,
        };
        command.SetAction(r => CommandErrors.Run(() =>
        {
            var stepCount = r.GetValue(steps);
            var settings = new Settings(
                // A model directory stands for its tokenizer.json, as `eft tokenize` takes it.
                r.GetValue(corpus)!, r.GetValue(tokenizer) is { } t && Directory.Exists(t) ? Path.Combine(t, "tokenizer.json") : r.GetValue(tokenizer), r.GetValue(vocabSize), r.GetValue(minFrequency), r.GetValue(layers),
                r.GetValue(hidden), r.GetValue(heads), r.GetValue(intermediate), r.GetValue(maxLength), stepCount, r.GetValue(batchSize),
                r.GetValue(lr), r.GetValue(warmup) ?? (int)Math.Ceiling(stepCount * 0.06), r.GetValue(weightDecay), r.GetValue(maxGradNorm),
                r.GetValue(maskProbability), r.GetValue(dupeFactor), r.GetValue(holdout), r.GetValue(evalEvery), r.GetValue(seed),
                r.GetValue(checkpointEvery), r.GetValue(dtype)!, !r.GetValue(noDropout));
            return Run(settings, r.GetValue(output)!, r.GetValue(resume));
        }));
        return command;
    }

    private sealed record Settings(string[] Corpus, string? Tokenizer, int VocabSize, int MinFrequency, int Layers, int Hidden, int Heads,
        int Intermediate, int MaxLength, int Steps, int BatchSize, double LearningRate, int WarmupSteps, double WeightDecay, double MaxGradNorm,
        double MaskProbability, int DupeFactor, double Holdout, int? EvalEvery, ulong Seed, int? CheckpointEvery, string DType, bool Dropout)
    {
        public void Validate()
        {
            void Require(bool ok, string message)
            {
                if (!ok) throw new ArgumentException(message);
            }
            Require(Corpus.Length > 0, "--corpus needs at least one file.");
            Require(Layers >= 1 && Hidden >= 1 && Heads >= 1 && Intermediate >= 1, $"--layers {Layers}, --hidden {Hidden}, --heads {Heads} and --intermediate {Intermediate} must all be at least 1.");
            Require(Hidden % Heads == 0, $"--hidden {Hidden} is not a multiple of --heads {Heads}.");
            Require(MaxLength >= 3, $"--max-length {MaxLength} must be at least 3 (<s>, a token, </s>).");
            Require(Steps >= 1 && BatchSize >= 1, $"--steps {Steps} and --batch-size {BatchSize} must be at least 1.");
            Require(LearningRate > 0 && WarmupSteps >= 0 && WeightDecay >= 0 && MaxGradNorm > 0, "--lr and --max-grad-norm must be positive, --warmup-steps and --weight-decay not negative.");
            Require(MaskProbability is > 0 and <= 1, $"--mask-probability {MaskProbability} must be in (0, 1].");
            Require(DupeFactor >= 1, $"--dupe-factor {DupeFactor} must be at least 1.");
            Require(Holdout is > 0 and < 1, $"--holdout {Holdout} must be in (0, 1): the held-out loss is what shows the model learnt.");
            Require(EvalEvery is null or >= 1 && CheckpointEvery is null or >= 1, "--eval-every and --checkpoint-every must be at least 1.");
            Require(DType is "f32" or "f16", $"--dtype '{DType}' is not f32 or f16.");
        }

        public JsonObject ToJson() => new()
        {
            ["tokenizer"] = Tokenizer, ["vocab_size"] = VocabSize, ["min_frequency"] = MinFrequency, ["layers"] = Layers, ["hidden"] = Hidden,
            ["heads"] = Heads, ["intermediate"] = Intermediate, ["max_length"] = MaxLength, ["steps"] = Steps, ["batch_size"] = BatchSize,
            ["lr"] = LearningRate, ["warmup_steps"] = WarmupSteps, ["weight_decay"] = WeightDecay, ["max_grad_norm"] = MaxGradNorm,
            ["mask_probability"] = MaskProbability, ["dupe_factor"] = DupeFactor, ["holdout"] = Holdout, ["eval_every"] = EvalEvery,
            ["seed"] = Seed.ToString(CultureInfo.InvariantCulture), ["checkpoint_every"] = CheckpointEvery, ["dtype"] = DType, ["dropout"] = Dropout,
            ["schedule"] = "linear", ["optimizer"] = "adamw(0.9, 0.999, 1e-8)",
        };
    }

    private const string SettingsFile = "pretrain_settings.json";

    // Separate key spaces for the seeded draws, so that no two uses of the seed share a stream.
    private const ulong SplitStream = 11, InitStream = 12, TrainMaskStream = 13, HeldOutMaskStream = 14;

    private static JsonNode? ReadSettings(string path)
    {
        try
        {
            return JsonNode.Parse(File.ReadAllText(path));
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}: the unfinished run's settings are unreadable ({e.Message}); delete {Path.GetDirectoryName(path)} to start over.", e);
        }
    }

    /// <summary>Each setting that differs, as a resume of `eft train` names them; null when none does.</summary>
    private static string? SettingsDiffer(JsonNode? saved, JsonObject given)
    {
        static Dictionary<string, string> Texts(JsonObject o) => o.ToDictionary(kv => kv.Key, kv => kv.Value?.ToJsonString() ?? "null");
        return SettingsDifference.Describe(Texts(saved as JsonObject ?? []), Texts(given));
    }

    private static int Run(Settings s, string outputDir, bool resume)
    {
        s.Validate();
        var output = Path.GetFullPath(outputDir.TrimEnd(Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar));
        var partial = output + ".partial";
        if (Directory.Exists(output) || File.Exists(output))
            throw new ArgumentException($"--output {outputDir} already exists; remove it or choose another directory.");
        if (Directory.Exists(partial) && !resume)
            throw new ArgumentException($"{partial} holds an unfinished run; pass --resume to continue it, or delete it.");
        var corpus = s.Corpus.Select(ReadCorpusFile).ToList();
        // The corpus's contents belong to the settings: a resume on edited or other files would train on other data.
        var settingsJson = s.ToJson();
        settingsJson["corpus_sha256"] = new JsonArray(corpus.Select(f => (JsonNode?)f.Sha256).ToArray());
        if (resume && Directory.Exists(partial))
        {
            var saved = Path.Combine(partial, SettingsFile);
            if (!File.Exists(saved))
                throw new ArgumentException($"{partial}: has no {SettingsFile}, so nothing says what the unfinished run was; delete it to start over.");
            if (SettingsDiffer(ReadSettings(saved), settingsJson) is { } differences)
                throw new ArgumentException($"{partial}: the unfinished run used other settings than these ({differences}); resume with the same options and corpus, or delete it to start over.");
        }

        var (train, heldOut) = Split(corpus.SelectMany(f => f.Documents).ToList(), s.Holdout, s.Seed);
        var clock = Stopwatch.StartNew();
        var resumedTokenizer = Path.Combine(partial, "tokenizer.json");
        var (tokenizer, tokenizerJson) = s.Tokenizer is { } given ? (Tokenizer.FromFile(given), File.ReadAllText(given))
            : resume && File.Exists(resumedTokenizer) ? (Tokenizer.FromFile(resumedTokenizer), File.ReadAllText(resumedTokenizer))
            : TrainTokenizer(train, s);
        var tokenizerSeconds = clock.Elapsed.TotalSeconds;
        var ids = SpecialIds(tokenizer, s.Tokenizer ?? "the trained tokenizer");
        var trainBlocks = MaskedLmData.Pack(train.Select(d => tokenizer.Encode(d, addSpecialTokens: false).Ids), s.MaxLength, ids);
        var heldOutBlocks = MaskedLmData.Pack(heldOut.Select(d => tokenizer.Encode(d, addSpecialTokens: false).Ids), s.MaxLength, ids);
        if (trainBlocks.Count == 0 || heldOutBlocks.Count == 0)
            throw new InvalidDataException($"{string.Join(", ", s.Corpus)}: the documents encode to no tokens.");
        var trainData = MaskedLmData.Mask(trainBlocks, s.MaxLength, ids, s.MaskProbability, s.DupeFactor, Rng.Hash(s.Seed, TrainMaskStream));
        var heldOutData = MaskedLmData.Mask(heldOutBlocks, s.MaxLength, ids, s.MaskProbability, 1, Rng.Hash(s.Seed, HeldOutMaskStream));
        var prepareSeconds = clock.Elapsed.TotalSeconds;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{train.Count} training and {heldOut.Count} held-out documents; {trainBlocks.Sum(b => (long)b.Length):N0} and {heldOutBlocks.Sum(b => (long)b.Length):N0} tokens in {trainBlocks.Count} and {heldOutBlocks.Count} blocks of at most {s.MaxLength}; vocabulary {tokenizer.VocabSize} (tokenizer {tokenizerSeconds:F1} s, data ready after {prepareSeconds:F1} s)"));

        Directory.CreateDirectory(partial);
        // An interrupted run with checkpoints stays for --resume; anything else leaves nothing behind.
        void Abandon()
        {
            if (!Directory.EnumerateDirectories(partial, "checkpoint-*").Any()) Directory.Delete(partial, recursive: true);
        }
        int code;
        using var ctrlC = new ConsoleRun.CtrlC();
        try
        {
            AtomicFile.WriteAllText(Path.Combine(partial, SettingsFile), settingsJson.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
            AtomicFile.WriteAllText(resumedTokenizer, tokenizerJson);
            code = Train(s, tokenizer, ids, trainData, heldOutData, partial, resume, corpus,
                new JsonObject
                {
                    ["train_documents"] = train.Count, ["heldout_documents"] = heldOut.Count,
                    ["train_tokens"] = trainBlocks.Sum(b => (long)b.Length), ["heldout_tokens"] = heldOutBlocks.Sum(b => (long)b.Length),
                    ["train_blocks"] = trainBlocks.Count, ["heldout_blocks"] = heldOutBlocks.Count, ["train_rows"] = trainData.Batch,
                    ["heldout_targets"] = heldOutData.TokenLabels!.Count(l => l != -100),
                },
                tokenizerSeconds, ctrlC.Token);
        }
        catch
        {
            Abandon();
            throw;
        }
        if (code == 3) return code;
        if (code != 0)
        {
            Abandon();
            return code;
        }
        // Renamed before the checkpoints go: a rename that fails (OUTPUT made meanwhile) leaves OUTPUT.partial whole, the
        // finished model with its checkpoints and settings, rather than a model stripped of what --resume reads.
        Directory.Move(partial, output);
        foreach (var checkpoint in Directory.EnumerateDirectories(output, "checkpoint-*"))
            Directory.Delete(checkpoint, recursive: true);
        File.Delete(Path.Combine(output, SettingsFile));
        Console.WriteLine($"wrote {output}");
        return 0;
    }

    private static int Train(Settings s, Tokenizer tokenizer, MaskedLmTokens ids, ModelBatch trainData, ModelBatch heldOutData, string partial,
        bool resume, List<CorpusFile> corpus, JsonObject counts, double tokenizerSeconds, CancellationToken cancellation)
    {
        var config = RobertaConfig.Default() with
        {
            Architectures = ["RobertaForMaskedLM"],
            VocabSize = tokenizer.VocabSize, HiddenSize = s.Hidden, NumHiddenLayers = s.Layers, NumAttentionHeads = s.Heads,
            IntermediateSize = s.Intermediate,
            // RoBERTa numbers positions from pad + 1, so a block of max-length tokens needs max-length + pad + 1 rows.
            MaxPositionEmbeddings = s.MaxLength + ids.Pad + 1,
            PadTokenId = ids.Pad, BosTokenId = ids.Bos, EosTokenIds = [ids.Eos], TypeVocabSize = 1, LayerNormEps = 1e-5,
        };
        var model = new RobertaForMaskedLM(config) { LogitsAtTargetsOnly = true };
        Initialise(model, config, s.Seed);
        var peft = PeftModel.CreateWhole(model);
        var initialLoss = MaskedLmData.Loss(model, heldOutData, s.BatchSize);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"RobertaForMaskedLM: {s.Layers} layers, hidden {s.Hidden}, {peft.TrainableCount:N0} parameters; held-out loss at initialisation {initialLoss:F4} (ln V = {Math.Log(config.VocabSize):F4})"));
        var optimizer = new AdamW(ParameterGroups.Build(peft.Trainable, s.LearningRate, weightDecay: s.WeightDecay));
        var options = new TrainerOptions
        {
            MaxSteps = s.Steps, BatchSize = s.BatchSize, MaxGradNorm = s.MaxGradNorm, WarmupSteps = s.WarmupSteps, Seed = s.Seed, Dropout = s.Dropout,
            EvaluateEvery = s.EvalEvery, CheckpointEvery = s.CheckpointEvery, OutputDirectory = partial, Resume = resume,
            // --resume reads the newest; each older one would hold the model and its optimizer moments for nothing.
            KeepCheckpoints = 1,
        };
        var tokensPerStep = (double)trainData.AttentionMask.Sum(v => (long)v) / trainData.Batch * s.BatchSize;
        var trainer = new Trainer(peft, optimizer, options)
        {
            Evaluate = _ => new Dictionary<string, double> { ["heldout_loss"] = MaskedLmData.Loss(peft.Model, heldOutData, options.BatchSize) },
        };
        var result = ConsoleRun.Train(trainer, trainData, "pretraining", tokensPerStep, cancellation);
        var logPath = Path.Combine(partial, "pretrain_log.jsonl");
        if (result.Status == TrainingStatus.Cancelled)
        {
            Console.Error.WriteLine(Directory.EnumerateDirectories(partial, "checkpoint-*").Any()
                ? $"eft: pretraining stopped after step {result.Steps}; run the same command with --resume to continue from {partial}."
                : $"eft: pretraining stopped after step {result.Steps}; nothing kept (--checkpoint-every N keeps checkpoints to resume from).");
            return 130;
        }
        if (result.Status == TrainingStatus.Diverged)
        {
            WriteLog(logPath, result);
            Console.Error.WriteLine($"eft: pretraining diverged at step {result.DivergedStep}; the losses until then are in {logPath}. Delete {partial} before starting again (a lower --lr, perhaps).");
            return 3;
        }
        var finalLoss = result.Evaluations[^1].Metrics["heldout_loss"];
        var window = result.Losses.TakeLast(Math.Max(1, result.Losses.Count / 10)).ToList();

        var dtype = s.DType == "f16" ? SafeTensorsDType.F16 : SafeTensorsDType.F32;
        SafeTensorsWriter.Save(Path.Combine(partial, "model.safetensors"), model.NamedTensors().Select(p => KeyValuePair.Create(p.Name, p.Value)),
            new SafeTensorsSaveOptions { DType = dtype });
        // The writer leaves out values equal to RoBERTa's defaults; the special ids are spelled out all the same, so
        // the file says which tokens they are without relying on a reader's defaults.
        var configJson = config.ToJson();
        configJson["pad_token_id"] = ids.Pad;
        configJson["bos_token_id"] = ids.Bos;
        configJson["eos_token_id"] = ids.Eos;
        File.WriteAllText(Path.Combine(partial, "config.json"), configJson.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        WriteLog(logPath, result);
        var recipe = new JsonObject
        {
            ["settings"] = s.ToJson(),
            ["corpus"] = new JsonArray(corpus.Select(f => (JsonNode?)new JsonObject
            {
                ["path"] = f.Path, ["sha256"] = f.Sha256, ["bytes"] = f.Bytes, ["documents"] = f.Documents.Count,
            }).ToArray()),
            ["tokenizer"] = new JsonObject
            {
                ["source"] = s.Tokenizer ?? "trained (byte-level BPE)", ["vocab_size"] = tokenizer.VocabSize, ["seconds"] = Math.Round(tokenizerSeconds, 2),
            },
            ["counts"] = counts,
            ["model"] = new JsonObject { ["architecture"] = model.Architecture, ["parameters"] = peft.TrainableCount },
            ["result"] = new JsonObject
            {
                ["steps"] = result.Steps,
                ["wall_seconds"] = Math.Round(result.WallTime.TotalSeconds, 1),
                ["tokens_per_second"] = Math.Round(result.TokensPerSecond),
                ["initial_heldout_loss"] = initialLoss,
                ["final_heldout_loss"] = finalLoss,
                ["final_train_loss"] = window.Average(),
                ["final_train_loss_steps"] = window.Count,
            },
        };
        File.WriteAllText(Path.Combine(partial, "pretrain_recipe.json"), recipe.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{result.Steps} steps in {result.WallTime.TotalSeconds:F1} s, {result.TokensPerSecond:F0} tokens/s; train loss {window.Average():F4} (mean of the last {window.Count} steps), held-out loss {initialLoss:F4} → {finalLoss:F4}"));
        return 0;
    }

    /// <summary>The training losses and held-out losses, one JSON object per line in step order.</summary>
    private static void WriteLog(string path, TrainingResult result) => File.WriteAllLines(path,
        result.Losses.Select((loss, i) => new JsonObject { ["step"] = i + 1, ["loss"] = loss })
            .Concat(result.Evaluations.Select(e => new JsonObject { ["step"] = e.Step, ["heldout_loss"] = e.Metrics["heldout_loss"] }))
            .OrderBy(o => o["step"]!.GetValue<int>())
            .Select(o => o.ToJsonString()));

    private sealed record CorpusFile(string Path, string Sha256, long Bytes, List<string> Documents);

    /// <summary>The file's non-blank lines, or for .jsonl the "text" field of each non-blank line.</summary>
    private static CorpusFile ReadCorpusFile(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: corpus file not found.", path);
        var bytes = File.ReadAllBytes(path);
        var documents = new List<string>();
        var jsonl = path.EndsWith(".jsonl", StringComparison.OrdinalIgnoreCase);
        // A byte order mark (Notepad, PowerShell) is no part of the first document; StreamReader drops it, GetString keeps it.
        using var reader = new StreamReader(new MemoryStream(bytes), System.Text.Encoding.UTF8, detectEncodingFromByteOrderMarks: true);
        var number = 0;
        for (var line = reader.ReadLine(); line != null; line = reader.ReadLine())
        {
            number++;
            if (string.IsNullOrWhiteSpace(line)) continue;
            if (!jsonl)
            {
                documents.Add(line);
                continue;
            }
            JsonNode? row;
            try
            {
                row = JsonNode.Parse(line);
            }
            catch (JsonException e)
            {
                throw new InvalidDataException($"{path}:{number}: not JSON ({e.Message}).");
            }
            if (row is not JsonObject obj || obj["text"] is not JsonValue value || !value.TryGetValue<string>(out var text))
                throw new InvalidDataException($"{path}:{number}: expected an object with a \"text\" string.");
            if (!string.IsNullOrWhiteSpace(text)) documents.Add(text);
        }
        if (documents.Count == 0) throw new InvalidDataException($"{path}: the corpus file holds no documents (no non-blank lines).");
        return new CorpusFile(path, Convert.ToHexStringLower(SHA256.HashData(bytes)), bytes.Length, documents);
    }

    /// <summary>A seeded shuffle picks the held-out documents (at least one, and at least one left to train on).</summary>
    private static (List<string> Train, List<string> HeldOut) Split(List<string> documents, double share, ulong seed)
    {
        var heldOut = Math.Max(1, (int)Math.Round(documents.Count * share));
        if (documents.Count - heldOut < 1)
            throw new InvalidDataException($"The corpus has {documents.Count} document(s); with --holdout {share} none would be left to train on.");
        var order = Enumerable.Range(0, documents.Count).ToArray();
        var rng = new Rng(Rng.Hash(seed, SplitStream));
        for (var i = order.Length - 1; i > 0; i--)
        {
            var j = rng.NextInt(i + 1);
            (order[i], order[j]) = (order[j], order[i]);
        }
        var held = order.Take(heldOut).ToHashSet();
        return (documents.Where((_, i) => !held.Contains(i)).ToList(), documents.Where((_, i) => held.Contains(i)).ToList());
    }

    private static (Tokenizer, string) TrainTokenizer(List<string> documents, Settings s)
    {
        var vocabulary = ByteLevelBpeTrainer.Train(documents, new ByteLevelBpeTrainerOptions { VocabSize = s.VocabSize, MinFrequency = s.MinFrequency });
        var json = vocabulary.ToJson();
        return (Tokenizer.FromJson(json), json);
    }

    private static MaskedLmTokens SpecialIds(Tokenizer tokenizer, string source)
    {
        int Need(int? id, string what) => id ?? throw new InvalidDataException($"{source}: the tokenizer has no {what} token, which masked-LM pretraining needs.");
        return new MaskedLmTokens(Need(tokenizer.BosTokenId, "<s>"), Need(tokenizer.EosTokenId, "</s>"), Need(tokenizer.PadTokenId, "<pad>"),
            Need(tokenizer.MaskTokenId, "<mask>"), tokenizer.VocabSize);
    }

    /// <summary>
    /// transformers' RobertaPreTrainedModel._init_weights: matrices N(0, initializer_range), biases 0, LayerNorm 1 and
    /// 0 (as constructed), and the padding rows of the word and position embeddings 0.
    /// </summary>
    private static void Initialise(RobertaForMaskedLM model, RobertaConfig config, ulong seed)
    {
        var rng = new Rng(Rng.Hash(seed, InitStream));
        foreach (var (_, tensor) in model.NamedTensors())
            if (tensor.Rank == 2) rng.FillNormal(tensor.AsSpan(), 0f, (float)config.InitializerRange);
        var pad = config.PadTokenId!.Value;
        foreach (var table in new[] { model.Roberta.Embeddings.WordEmbeddings.Weight, model.Roberta.Embeddings.PositionEmbeddings.Weight })
            table.AsSpan().Slice(pad * config.HiddenSize, config.HiddenSize).Clear();
    }
}
