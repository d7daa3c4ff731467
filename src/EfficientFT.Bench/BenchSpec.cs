using System.Globalization;
using System.Reflection;
using EfficientFT.Peft;
using EfficientFT.Peft.Methods;
using EfficientFT.Training.Data;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace EfficientFT.Bench;

/// <summary>Where a value sits in a spec, so that a problem found later (an unknown task) still names file, line and key.</summary>
public sealed record SpecPlace(string File, int Line, int Column, string Key)
{
    public SpecException Error(string problem) => new(File, Line, Column, Key, problem);
}

/// <summary>One run of an expanded spec: its settings and the spec-wide run options that do not change its result.</summary>
/// <param name="Index">Position in the expanded, deduplicated order (0-based); shards split on it.</param>
/// <param name="EvaluateEvery">Evaluate on the validation split(s) every this many steps as well as at the end.</param>
/// <param name="CheckpointEvery">Checkpoint under RESULTS/work/&lt;id&gt; every this many steps, so a killed run resumes.</param>
/// <param name="CheckpointMinutes">Also checkpoint there once this many minutes have passed since the last one.</param>
/// <param name="GradientCheckpointing">Recompute activations in backward (less memory, the same result).</param>
public sealed record RunPlan(int Index, RunSettings Settings, int? EvaluateEvery, int? CheckpointEvery, double? CheckpointMinutes,
    bool GradientCheckpointing)
{
    public string Id { get; } = Settings.Id;

    /// <summary>Whether the run checkpoints at all, and so resumes from a checkpoint left by a killed process.</summary>
    public bool Checkpoints => CheckpointEvery != null || CheckpointMinutes != null;
}

/// <summary>
/// A spec expanded: the runs in order, and where each model, task, max_length and target value came from (for errors
/// found later, against the models).
/// </summary>
public sealed record BenchPlan(
    IReadOnlyList<RunPlan> Runs,
    IReadOnlyDictionary<string, SpecPlace> Models,
    IReadOnlyDictionary<string, SpecPlace> Tasks,
    int DuplicatesRemoved)
{
    /// <summary>Where each model's max_length values came from.</summary>
    public IReadOnlyDictionary<(string Model, int MaxLength), SpecPlace> MaxLengths { get; init; } = new Dictionary<(string, int), SpecPlace>();

    /// <summary>Where each model's target sets (canonical, "q,v") came from.</summary>
    public IReadOnlyDictionary<(string Model, string Targets), SpecPlace> TargetSets { get; init; } = new Dictionary<(string, string), SpecPlace>();

    /// <summary>Where each model's rank for a method came from, for the methods that read one.</summary>
    public IReadOnlyDictionary<(string Model, string Method, int Rank), SpecPlace> Ranks { get; init; } = new Dictionary<(string, string, int), SpecPlace>();
}

/// <summary>
/// A benchmark spec (YAML). Format:
/// <code>
/// name: my-grid                # optional; default: the file name
/// jobs: 2                      # optional: runs at once, each a process with cores/jobs engine threads
/// defaults:                    # settings every block starts from
///   model: embedded            # "embedded", a model directory, or a repository id in the Hugging Face cache
///   epochs: 3
///   max_steps: null            # when set, replaces epochs
///   batch_size: 16
///   max_length: 128
///   lr: 5e-4
///   rank: 8
///   alpha: 16
///   schedule: linear           # constant | linear | cosine
///   warmup_ratio: 0.06
///   weight_decay: 0
///   max_grad_norm: 1.0         # null: no clipping
///   adapter_dropout: 0
///   adam_beta1: 0.9            # AdamW's betas and epsilon, as transformers names them
///   adam_beta2: 0.999
///   adam_epsilon: 1e-8
///   gradient_accumulation_steps: 1  # micro-batches of batch_size per optimizer step
///   seeds: [1, 2, 3]
///   evaluate_every: null       # extra evaluations every N steps (the final one is always made)
///   checkpoint_every: null     # checkpoint every N steps so a killed run resumes
///   checkpoint_minutes: 10     # and once this many minutes have passed since the last checkpoint (null: never)
///   gradient_checkpointing: false  # recompute each layer in backward: less memory, one more forward, same result
///   frozen_bf16: false         # hold the frozen weights in bfloat16: half their memory (part of the run's id)
///   per_method:                # overrides for one method
///     full_ft: { lr: 1e-4 }
/// grids:
///   - tasks: [imdb, spam]
///     methods: [full_ft, lora, dora]
///     targets: ["q,v", "q,k,v"]   # quote target sets: [q,v] is two sets, "q" and "v"
///     lambda: [1, 2, 4, 8]
/// </code>
/// Every setting, in defaults, a block or a per_method entry, is a scalar or a list; a block's runs are the
/// cartesian product of its lists. model/models, task/tasks, method/methods and seed/seeds are the same key. Method
/// options: sparse_rate (sift), loraplus_ratio (loraplus, default 16), adalora_init_r (adalora, default 1.5·rank),
/// galore_gap and galore_scale (galore), pissa_iterations (pissa), mpc "KIND:COEF" (LoRA family, adalora, eva).
/// <para>
/// Precedence, most specific first: the block's per_method entry, the block, defaults' per_method entry, defaults,
/// the built-in defaults. So a block that sweeps lr sweeps it for every method, even one with an lr in defaults'
/// per_method.
/// </para>
/// <para>
/// Normalisation, so that settings a method ignores do not multiply runs: rank is kept only for the LoRA family
/// (lora, loraplus, rslora, dora, pissa, olora), adalora, eva, vera and galore, else 0; alpha only for the LoRA family,
/// adalora and eva, else 0; adapter_dropout only for the LoRA family, adalora, eva and vera, else 0; a method option
/// only for its methods, and dropped when it equals its default; λ is 1 when the targets do not include v (nothing
/// learns at λ·lr then); epochs is 0 when max_steps is set. Runs whose normalised settings are equal are one run
/// (the first in order is kept).
/// </para>
/// <para>
/// Order (what shards split): blocks in file order; within a block methods in the order given, then the product over
/// model, task, targets, rank, λ, lr, seed and the other keys, the last key varying fastest.
/// </para>
/// </summary>
public sealed class BenchSpec
{
    private static readonly HashSet<string> RankMethods = [.. PeftMethods.LoraFamily, "adalora", "vera", "galore"];
    private static readonly HashSet<string> AlphaMethods = [.. PeftMethods.LoraFamily, "adalora"];
    private static readonly HashSet<string> DropoutMethods = [.. PeftMethods.LoraFamily, "adalora", "vera"];

    private static readonly string[] TargetOrder = ["q", "k", "v", "o", "gate", "up", "down"];

    private static readonly Dictionary<string, string> TargetNames = new(StringComparer.Ordinal)
    {
        ["q"] = "q", ["query"] = "q", ["q_proj"] = "q",
        ["k"] = "k", ["key"] = "k", ["k_proj"] = "k",
        ["v"] = "v", ["value"] = "v", ["v_proj"] = "v",
        ["o"] = "o", ["attention.output.dense"] = "o", ["o_proj"] = "o",
        ["gate"] = "gate", ["gate_proj"] = "gate",
        ["up"] = "up", ["intermediate.dense"] = "up", ["up_proj"] = "up",
        ["down"] = "down", ["output.dense"] = "down", ["down_proj"] = "down",
    };

    private enum Kind { Text, Method, Targets, Int, Double, Seed, Schedule, Mpc, Bool }

    /// <param name="Min">Smallest allowed value (numbers).</param>
    /// <param name="Nullable">null is a value (max_steps: null = none).</param>
    /// <param name="Methods">For a method option: the methods that read it.</param>
    /// <param name="Default">For a method option: its default, dropped from the settings when given.</param>
    /// <param name="RunOption">How a run is made, not what it computes: not in a run's id, so one value only.</param>
    private sealed record KeyDef(Kind Kind, double Min = double.NegativeInfinity, bool Nullable = false,
        double Max = double.PositiveInfinity, string[]? Methods = null, string? Default = null, bool RunOption = false);

    /// <summary>Every key of defaults, blocks and per_method entries, in the order the product varies them.</summary>
    private static readonly (string Key, KeyDef Def)[] Keys =
    [
        ("model", new(Kind.Text)),
        ("task", new(Kind.Text)),
        ("method", new(Kind.Method)),
        ("targets", new(Kind.Targets)),
        ("rank", new(Kind.Int, Min: 1)),
        ("lambda", new(Kind.Double, Min: double.Epsilon)),
        ("lr", new(Kind.Double, Min: 0)),
        ("seed", new(Kind.Seed)),
        ("alpha", new(Kind.Double, Min: double.Epsilon)),
        ("epochs", new(Kind.Int, Min: 1)),
        ("max_steps", new(Kind.Int, Min: 1, Nullable: true)),
        ("batch_size", new(Kind.Int, Min: 1)),
        ("max_length", new(Kind.Int, Min: 4)),
        ("schedule", new(Kind.Schedule)),
        ("warmup_ratio", new(Kind.Double, Min: 0, Max: 1)),
        ("weight_decay", new(Kind.Double, Min: 0)),
        ("max_grad_norm", new(Kind.Double, Min: double.Epsilon, Nullable: true)),
        ("adapter_dropout", new(Kind.Double, Min: 0, Max: 0.99)),
        ("adam_beta1", new(Kind.Double, Min: 0, Max: 0.9999)),
        ("adam_beta2", new(Kind.Double, Min: 0, Max: 0.999999)),
        ("adam_epsilon", new(Kind.Double, Min: double.Epsilon)),
        ("gradient_accumulation_steps", new(Kind.Int, Min: 1)),
        ("evaluate_every", new(Kind.Int, Min: 1, Nullable: true, RunOption: true)),
        ("checkpoint_every", new(Kind.Int, Min: 1, Nullable: true, RunOption: true)),
        ("checkpoint_minutes", new(Kind.Double, Min: double.Epsilon, Nullable: true, RunOption: true)),
        ("gradient_checkpointing", new(Kind.Bool, RunOption: true)),
        ("frozen_bf16", new(Kind.Bool)),
        ("sparse_rate", new(Kind.Double, Min: double.Epsilon, Max: 1, Methods: ["sift"], Default: "0.2")),
        ("loraplus_ratio", new(Kind.Double, Min: double.Epsilon, Methods: ["loraplus"], Default: "16")),
        ("adalora_init_r", new(Kind.Int, Min: 1, Methods: ["adalora"])),
        ("galore_gap", new(Kind.Int, Min: 1, Methods: ["galore"], Default: "200")),
        ("galore_scale", new(Kind.Double, Min: double.Epsilon, Methods: ["galore"], Default: "0.25")),
        ("pissa_iterations", new(Kind.Int, Min: 1, Methods: [.. PeftMethods.Registry.Keys.Where(m => PeftMethods.Parts(m)[0] == "pissa")])),
        ("mpc", new(Kind.Mpc, Methods: [.. PeftMethods.LoraFamily, "adalora"])),
    ];

    private static readonly Dictionary<string, KeyDef> Defs = Keys.ToDictionary(k => k.Key, k => k.Def, StringComparer.Ordinal);

    private static readonly Dictionary<string, string> Plurals = new(StringComparer.Ordinal)
    {
        ["models"] = "model", ["tasks"] = "task", ["methods"] = "method", ["seeds"] = "seed",
    };

    /// <summary>What a run gets when neither defaults nor its block say (task and method have none: a block must name them).</summary>
    private static readonly Dictionary<string, string?> BuiltIn = new(StringComparer.Ordinal)
    {
        ["model"] = "embedded", ["targets"] = "q,v", ["rank"] = "8", ["lambda"] = "1", ["lr"] = "5e-4", ["seed"] = "1",
        ["alpha"] = "16", ["epochs"] = "1", ["max_steps"] = null, ["batch_size"] = "16", ["max_length"] = "128",
        ["schedule"] = "linear", ["warmup_ratio"] = "0", ["weight_decay"] = "0", ["max_grad_norm"] = "1",
        ["adapter_dropout"] = "0", ["adam_beta1"] = "0.9", ["adam_beta2"] = "0.999", ["adam_epsilon"] = "1e-8",
        ["gradient_accumulation_steps"] = "1", ["evaluate_every"] = null, ["checkpoint_every"] = null,
        ["checkpoint_minutes"] = "10", ["gradient_checkpointing"] = "false", ["frozen_bf16"] = "false",
    };

    private sealed record Item(string? Text, SpecPlace Place);

    private sealed record Entry(string Key, SpecPlace Place, IReadOnlyList<Item> Items);

    private sealed class Level
    {
        public required SpecPlace Place { get; init; }

        public Dictionary<string, Entry> Settings { get; } = new(StringComparer.Ordinal);

        public Dictionary<string, Level> PerMethod { get; } = new(StringComparer.Ordinal);
    }

    private readonly Level _defaults;
    private readonly IReadOnlyList<Level> _blocks;

    private BenchSpec(string name, string source, string text, Level defaults, IReadOnlyList<Level> blocks)
    {
        (Name, Source, Text, _defaults, _blocks) = (name, source, text, defaults, blocks);
    }

    /// <summary>
    /// Runs to make at once (the spec's top-level jobs key, default 1), each in its own process with an equal share
    /// of the cores. Small models train faster this way than with every core on one run: their operations are too
    /// small to split across threads profitably. Not part of any run's settings or id.
    /// </summary>
    public int Jobs { get; private init; } = 1;

    /// <summary>The spec's name: its name key, else the file name without extension, else the preset's name.</summary>
    public string Name { get; }

    /// <summary>The file (or "preset:NAME") errors are reported against.</summary>
    public string Source { get; }

    /// <summary>The YAML as read, copied to RESULTS/spec.yaml.</summary>
    public string Text { get; }

    public static IReadOnlyList<string> PresetNames { get; } = ["default", "quick"];

    public static BenchSpec Load(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: no such spec file.", path);
        return Parse(File.ReadAllText(path), path, Path.GetFileNameWithoutExtension(path));
    }

    /// <summary>A spec that ships inside this assembly (Presets/NAME.yaml).</summary>
    public static BenchSpec Preset(string name)
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream($"EfficientFT.Bench.Presets.{name}.yaml")
            ?? throw new ArgumentException($"No preset '{name}'; presets: {string.Join(", ", PresetNames)}.");
        using var reader = new StreamReader(stream);
        return Parse(reader.ReadToEnd(), $"preset:{name}", name);
    }

    public static BenchSpec Parse(string text, string source, string fallbackName)
    {
        YamlStream stream = new();
        try
        {
            stream.Load(new StringReader(text));
        }
        catch (YamlException e)
        {
            throw new SpecException(source, (int)e.Start.Line, (int)e.Start.Column, "yaml", e.InnerException?.Message ?? e.Message);
        }
        catch (InvalidOperationException e)
        {
            // YamlDotNet's scanner throws this on some malformed input (an unclosed flow mapping) with no position.
            throw new SpecException(source, 0, 0, "yaml", $"not valid YAML ({e.Message}).");
        }
        if (stream.Documents.Count != 1 || stream.Documents[0].RootNode is not YamlMappingNode root)
            throw new SpecException(source, 1, 1, "spec", "expected one YAML document holding a mapping (defaults:, grids:).");

        string name = fallbackName;
        var jobs = 1;
        Level? defaults = null;
        List<Level>? blocks = null;
        foreach (var (keyNode, value) in root.Children)
        {
            var key = KeyOf(keyNode, source);
            var place = PlaceOf(source, keyNode, key);
            switch (key)
            {
                case "name":
                    name = value is YamlScalarNode { Value: { Length: > 0 } n } ? n : throw place.Error("expected a name.");
                    break;
                case "description":
                    break;
                case "jobs":
                    jobs = value is YamlScalarNode { Value: { } j } && int.TryParse(j, NumberStyles.None, CultureInfo.InvariantCulture, out var count) && count >= 1
                        ? count
                        : throw place.Error("expected a whole number of runs at once, at least 1.");
                    break;
                case "defaults":
                    defaults = ReadLevel(value, source, "defaults", allowPerMethod: true);
                    break;
                case "grids":
                    if (value is not YamlSequenceNode { Children.Count: > 0 } sequence)
                        throw place.Error("expected a list of grid blocks.");
                    blocks = sequence.Children.Select((b, i) => ReadLevel(b, source, $"grids[{i}]", allowPerMethod: true)).ToList();
                    break;
                default:
                    throw place.Error("unknown key; a spec has name, description, jobs, defaults and grids.");
            }
        }
        if (blocks == null) throw new SpecException(source, 1, 1, "grids", "missing: a spec needs at least one grid block.");
        defaults ??= new Level { Place = new SpecPlace(source, 1, 1, "defaults") };
        foreach (var level in blocks.Prepend(defaults))
            if (level.Settings.TryGetValue("method", out var m) && level != defaults && m.Items.Count == 0)
                throw m.Place.Error("an empty list of methods.");
        return new BenchSpec(name, source, text, defaults, blocks) { Jobs = jobs };
    }

    private static string KeyOf(YamlNode node, string source) => node is YamlScalarNode { Value: { } k }
        ? k
        : throw new SpecException(source, (int)node.Start.Line, (int)node.Start.Column, "key", "keys must be plain names.");

    private static SpecPlace PlaceOf(string source, YamlNode node, string key) => new(source, (int)node.Start.Line, (int)node.Start.Column, key);

    private static Level ReadLevel(YamlNode node, string source, string where, bool allowPerMethod)
    {
        if (node is not YamlMappingNode mapping)
            throw new SpecException(source, (int)node.Start.Line, (int)node.Start.Column, where, "expected a mapping of settings.");
        var level = new Level { Place = PlaceOf(source, node, where) };
        foreach (var (keyNode, value) in mapping.Children)
        {
            var written = KeyOf(keyNode, source);
            var key = Plurals.GetValueOrDefault(written, written);
            var place = PlaceOf(source, keyNode, written);
            if (key == "per_method")
            {
                if (!allowPerMethod) throw place.Error("per_method entries cannot nest.");
                if (value is not YamlMappingNode methods) throw place.Error("expected a mapping of method → settings.");
                foreach (var (methodNode, settings) in methods.Children)
                {
                    var method = KeyOf(methodNode, source);
                    var methodPlace = PlaceOf(source, methodNode, $"per_method.{method}");
                    if (!PeftMethods.Registry.ContainsKey(method))
                        throw methodPlace.Error($"unknown method; known: {string.Join(", ", PeftMethods.Registry.Keys)}.");
                    var entry = ReadLevel(settings, source, $"per_method.{method}", allowPerMethod: false);
                    foreach (var fixedKey in new[] { "method", "model", "task" })
                        if (entry.Settings.TryGetValue(fixedKey, out var e))
                            throw e.Place.Error($"cannot be set per method.");
                    level.PerMethod[method] = entry;
                }
                continue;
            }
            if (!Defs.TryGetValue(key, out var def))
                throw place.Error($"unknown key; known: {string.Join(", ", Keys.Select(k => k.Key).Append("per_method"))}.");
            if (level.Settings.ContainsKey(key))
                throw place.Error($"given twice (as {key} and {Plurals.FirstOrDefault(p => p.Value == key).Key}).");
            var items = value switch
            {
                YamlSequenceNode list => list.Children.Select(c => ReadItem(c, def, source, written)).ToList(),
                _ => [ReadItem(value, def, source, written)],
            };
            // Runs that differ only in such an option share an id, so a list of them would make one run and drop the rest.
            if (def.RunOption && items.Select(i => Value(def, i.Text)).Distinct().Count() > 1)
                throw place.Error("changes how a run is made, not its result, so it is not part of a run's id and a list of values would make one run; give one value (for both, use two results directories).");
            level.Settings[key] = new Entry(key, place, items);
        }
        return level;
    }

    private static Item ReadItem(YamlNode node, KeyDef def, string source, string key)
    {
        var place = PlaceOf(source, node, key);
        string? text;
        if (node is YamlSequenceNode inner && def.Kind == Kind.Targets)
            text = string.Join(",", inner.Children.Select(c => c is YamlScalarNode s ? s.Value : throw place.Error("a target set lists names.")));
        else if (node is YamlScalarNode scalar)
            text = scalar.Style == ScalarStyle.Plain && scalar.Value is "" or "~" or "null" or "Null" or "NULL" ? null : scalar.Value;
        else
            throw place.Error("expected a value or a list of values.");
        if (text == null)
            return def.Nullable ? new Item(null, place) : throw place.Error("needs a value (null is not one here).");
        var problem = Check(def, text);
        return problem == null ? new Item(text, place) : throw place.Error(problem);
    }

    /// <summary>Why <paramref name="text"/> is no value of the key, or null when it is one.</summary>
    private static string? Check(KeyDef def, string text)
    {
        switch (def.Kind)
        {
            case Kind.Text:
                return text.Trim().Length == 0 ? "an empty value." : null;
            case Kind.Method:
                return PeftMethods.Registry.ContainsKey(text) ? null : $"unknown method '{text}'; known: {string.Join(", ", PeftMethods.Registry.Keys)}.";
            case Kind.Targets:
                try
                {
                    CanonicalTargets(text);
                    return null;
                }
                catch (ArgumentException e)
                {
                    return e.Message;
                }
            case Kind.Schedule:
                return text is "constant" or "linear" or "cosine" ? null : $"'{text}' is not one of constant, linear, cosine.";
            case Kind.Seed:
                return ulong.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out _) ? null : $"'{text}' is not a non-negative integer seed.";
            case Kind.Int:
                return int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var i)
                    ? i >= def.Min && i <= def.Max ? null : $"{i} is outside [{def.Min}, {def.Max}]."
                    : $"'{text}' is not an integer.";
            case Kind.Double:
                return double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && double.IsFinite(d)
                    ? d < def.Min ? $"{d.ToString(CultureInfo.InvariantCulture)} is {(def.Min > 0 ? "not positive" : "negative")}{(def.Nullable ? " (null turns it off)" : "")}."
                    : d > def.Max ? $"{d.ToString(CultureInfo.InvariantCulture)} is above the most allowed, {def.Max.ToString(CultureInfo.InvariantCulture)}." : null
                    : $"'{text}' is not a number.";
            case Kind.Mpc:
                return MpcOptions.TryParse(text) != null ? null : $"'{text}' is not {MpcOptions.Expected}.";
            case Kind.Bool:
                return bool.TryParse(text, out _) ? null : $"'{text}' is not true or false.";
            default:
                throw new InvalidOperationException(def.Kind.ToString());
        }
    }

    /// <summary>"query, value" → "q,v": short names, in q,k,v,o,gate,up,down order, each once.</summary>
    public static string CanonicalTargets(string text)
    {
        var names = text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        if (names.Length == 0) throw new ArgumentException("an empty target set.");
        var shorts = names.Select(n => TargetNames.TryGetValue(n, out var s)
            ? s
            : throw new ArgumentException($"unknown target '{n}'; known: {string.Join(", ", TargetOrder)} (or query, key, value, q_proj, …).")).ToHashSet();
        return string.Join(",", TargetOrder.Where(shorts.Contains));
    }

    /// <summary>
    /// The runs of the spec, in order, duplicates removed. <paramref name="model"/> replaces every model value;
    /// <paramref name="tasks"/> replaces the defaults' task list and keeps, of a block's own tasks, those it names (the
    /// command line's --model and --tasks).
    /// </summary>
    public BenchPlan Expand(string? model = null, IReadOnlyList<string>? tasks = null)
    {
        var cli = new SpecPlace("command line", 0, 0, "");
        var runs = new List<RunPlan>();
        var seen = new Dictionary<string, Dictionary<string, Item>>(StringComparer.Ordinal);
        var models = new Dictionary<string, SpecPlace>(StringComparer.Ordinal);
        var taskPlaces = new Dictionary<string, SpecPlace>(StringComparer.Ordinal);
        var maxLengths = new Dictionary<(string, int), SpecPlace>();
        var targetSets = new Dictionary<(string, string), SpecPlace>();
        var ranks = new Dictionary<(string, string, int), SpecPlace>();
        var duplicates = 0;
        for (var b = 0; b < _blocks.Count; b++)
        {
            var block = _blocks[b];
            var methods = Lookup("method", block, _defaults)
                ?? throw block.Place.Error("names no method (methods: [...] here or in defaults).");
            if (methods.Items.Count == 0) throw methods.Place.Error("an empty list of methods.");
            RefuseUnread(block, methods.Items.Select(i => i.Text!).ToList());
            foreach (var methodItem in methods.Items)
            {
                var method = methodItem.Text!;
                var effective = new Dictionary<string, Entry>(StringComparer.Ordinal);
                foreach (var (key, text) in BuiltIn)
                    effective[key] = new Entry(key, new SpecPlace(Source, 0, 0, key), [new Item(text, new SpecPlace(Source, 0, 0, key))]);
                foreach (var level in new[] { _defaults, _defaults.PerMethod.GetValueOrDefault(method), block, block.PerMethod.GetValueOrDefault(method) })
                    if (level != null)
                        foreach (var (key, entry) in level.Settings)
                            effective[key] = entry;
                effective["method"] = new Entry("method", methodItem.Place, [methodItem]);
                if (model != null)
                    effective["model"] = new Entry("model", cli with { Key = "--model" }, [new Item(model, cli with { Key = "--model" })]);
                if (!effective.TryGetValue("task", out var taskEntry) && tasks == null)
                    throw block.Place.Error("names no task (tasks: [...] here or in defaults).");
                if (tasks != null)
                {
                    if (taskEntry is { Items.Count: 0 }) throw taskEntry.Place.Error("an empty list: no task value, so no run.");
                    // A block with tasks of its own has settings meant for them, so it keeps those of its tasks the
                    // command line names (where the spec names them); the defaults' list is what it replaces.
                    var fromDefaults = taskEntry == null || ReferenceEquals(taskEntry, _defaults.Settings.GetValueOrDefault("task"));
                    var cliTasks = cli with { Key = "--tasks" };
                    var kept = fromDefaults
                        ? tasks.Select(t => new Item(t, cliTasks)).ToList()
                        : taskEntry!.Items.Where(i => tasks.Any(c => SameTask(c, i.Text!))).ToList();
                    if (kept.Count == 0) continue;
                    effective["task"] = new Entry("task", fromDefaults ? cliTasks : taskEntry!.Place, kept);
                }
                // An empty list of anything makes the product empty: no run, and no word of why.
                if (effective.Values.FirstOrDefault(e => e.Items.Count == 0) is { } empty)
                    throw empty.Place.Error($"an empty list: no {empty.Key} value, so no run.");

                foreach (var combination in Product(Keys.Select(k => k.Key).Where(effective.ContainsKey).Select(k => effective[k]).ToList()))
                {
                    var settings = Resolve(combination);
                    models.TryAdd(settings.Model, combination["model"].Place);
                    taskPlaces.TryAdd(settings.Task, combination["task"].Place);
                    maxLengths.TryAdd((settings.Model, settings.MaxLength), combination["max_length"].Place);
                    targetSets.TryAdd((settings.Model, settings.Targets), combination["targets"].Place);
                    if (combination.TryGetValue("rank", out var rankValue)) ranks.TryAdd((settings.Model, settings.Method, settings.Rank), rankValue.Place);
                    var plan = new RunPlan(runs.Count, settings, Int(combination, "evaluate_every"), Int(combination, "checkpoint_every"),
                        NullableDouble(combination, "checkpoint_minutes"), bool.Parse(combination["gradient_checkpointing"].Text!));
                    if (seen.TryAdd(plan.Id, combination)) runs.Add(plan);
                    else
                    {
                        duplicates++;
                        // --model can merge blocks written for different models; their options then cannot agree.
                        if (model == null) RequireSameRunOptions(seen[plan.Id], combination);
                    }
                }
            }
        }
        if (tasks?.FirstOrDefault(t => !taskPlaces.Keys.Any(run => SameTask(t, run))) is { } unrun)
            throw (cli with { Key = "--tasks" }).Error($"'{unrun}' is run by no block: every block names tasks of its own, and none names it.");
        return new BenchPlan(runs, models, taskPlaces, duplicates) { MaxLengths = maxLengths, TargetSets = targetSets, Ranks = ranks };
    }

    /// <summary>The task a spec value names, GLUE's names in their one spelling.</summary>
    private static string TaskName(string text) => GlueTasks.All.TryGetValue(text.Trim(), out var glue) ? glue.Name : text.Trim();

    private static bool SameTask(string a, string b) => TaskName(a) == TaskName(b);

    /// <summary>
    /// Two combinations that make one run must not ask for it to be made differently: the run options are not in its
    /// id, so the second's would be dropped without a word (gradient checkpointing on in one block, off in another).
    /// </summary>
    private static void RequireSameRunOptions(Dictionary<string, Item> first, Dictionary<string, Item> combination)
    {
        static string Where(Item item) => $"{item.Text ?? "null"} {(item.Place.Line > 0 ? $"at line {item.Place.Line}" : "by default")}";
        foreach (var (key, def) in Keys.Where(k => k.Def.RunOption))
        {
            var (earlier, later) = (first[key], combination[key]);
            if (Equals(Value(def, earlier.Text), Value(def, later.Text))) continue;
            throw (later.Place.Line > 0 ? later : earlier).Place.Error(
                $"is {Where(earlier)} and {Where(later)} for the same run, which is made once: it changes how a run is made, not the run's id; give both the same value.");
        }
    }

    /// <summary>A checked value as what it stands for, so that 10 and 10.0 compare equal.</summary>
    private static object? Value(KeyDef def, string? text) => text == null ? null : def.Kind switch
    {
        Kind.Int => int.Parse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture),
        Kind.Double => double.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture),
        Kind.Bool => bool.Parse(text),
        _ => text,
    };

    /// <summary>
    /// A setting a block gives, or gives one of its methods, that no method it applies to reads would change none of
    /// its runs: a sweep of it would collapse into one run, and a constraint meant for them (mpc on VeRA) would apply
    /// to none. Defaults are exempt: they serve blocks of every method.
    /// </summary>
    private static void RefuseUnread(Level block, IReadOnlyList<string> methods)
    {
        foreach (var (key, entry) in block.Settings)
            if (Readers(key) is { } readers && !methods.Any(readers.Contains))
                throw entry.Place.Error($"none of this block's methods ({string.Join(", ", methods)}) reads it.");
        foreach (var (method, level) in block.PerMethod)
        {
            if (!methods.Contains(method)) throw level.Place.Error($"{method} is not among this block's methods ({string.Join(", ", methods)}).");
            foreach (var (key, entry) in level.Settings)
                if (Readers(key) is { } readers && !readers.Contains(method))
                    throw entry.Place.Error($"{method} does not read it.");
        }
    }

    /// <summary>The methods that read a setting, or null when every method does.</summary>
    private static IReadOnlySet<string>? Readers(string key) => key switch
    {
        "rank" => RankMethods,
        "alpha" => AlphaMethods,
        "adapter_dropout" => DropoutMethods,
        _ => Defs.TryGetValue(key, out var def) && def.Methods != null ? def.Methods.ToHashSet() : null,
    };

    private static Entry? Lookup(string key, Level block, Level defaults) =>
        block.Settings.GetValueOrDefault(key) ?? defaults.Settings.GetValueOrDefault(key);

    private static IEnumerable<Dictionary<string, Item>> Product(IReadOnlyList<Entry> entries)
    {
        var indices = new int[entries.Count];
        if (entries.Any(e => e.Items.Count == 0)) yield break;
        while (true)
        {
            yield return entries.Select((e, i) => (e.Key, Item: e.Items[indices[i]])).ToDictionary(p => p.Key, p => p.Item, StringComparer.Ordinal);
            var k = entries.Count - 1;
            while (k >= 0 && ++indices[k] == entries[k].Items.Count)
            {
                indices[k] = 0;
                k--;
            }
            if (k < 0) yield break;
        }
    }

    private static int? Int(Dictionary<string, Item> c, string key) =>
        c.TryGetValue(key, out var item) && item.Text != null ? int.Parse(item.Text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture) : null;

    private static double? NullableDouble(Dictionary<string, Item> c, string key) =>
        c.TryGetValue(key, out var item) && item.Text != null ? double.Parse(item.Text, NumberStyles.Float, CultureInfo.InvariantCulture) : null;

    private static double Double(Dictionary<string, Item> c, string key) => double.Parse(c[key].Text!, NumberStyles.Float, CultureInfo.InvariantCulture);

    private static RunSettings Resolve(Dictionary<string, Item> c)
    {
        var method = c["method"].Text!;
        var targets = CanonicalTargets(c["targets"].Text!);
        var rank = RankMethods.Contains(method) ? Int(c, "rank")!.Value : 0;
        var maxSteps = Int(c, "max_steps");
        var options = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, def) in Keys.Where(k => k.Def.Methods != null))
        {
            if (!c.TryGetValue(key, out var item) || !def.Methods!.Contains(method)) continue;
            // Found here, where the spec says it, rather than as a failed run once the grid is under way.
            if (def.Kind == Kind.Mpc && MpcOptions.TryParse(item.Text!) is { Kind: MpcKind.Nonlinear } && Mpc.MustStayLinear(method))
                throw item.Place.Error($"nonlinear MPC needs an adapter that stays linear in W at the start, and {method} is not one.");
            var text = def.Kind switch
            {
                Kind.Double => Format(double.Parse(item.Text!, NumberStyles.Float, CultureInfo.InvariantCulture)),
                Kind.Int => int.Parse(item.Text!, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture).ToString(CultureInfo.InvariantCulture),
                Kind.Mpc => item.Text!.Split(':')[0].ToLowerInvariant() + ":" + Format(double.Parse(item.Text.Split(':')[1], NumberStyles.Float, CultureInfo.InvariantCulture)),
                _ => item.Text!,
            };
            var fallback = key == "adalora_init_r" ? (rank * 3 / 2).ToString(CultureInfo.InvariantCulture) : def.Default;
            if (text != fallback) options[key] = text;
        }
        return new RunSettings
        {
            Model = c["model"].Text!.Trim(),
            // GLUE names resolve in any case; one spelling keeps "RTE" and "rte" from being two sets of runs.
            Task = TaskName(c["task"].Text!),
            Method = method,
            Targets = targets,
            Rank = rank,
            Alpha = AlphaMethods.Contains(method) ? Double(c, "alpha") : 0,
            Lambda = targets.Split(',').Contains("v") ? Double(c, "lambda") : 1,
            LearningRate = Double(c, "lr"),
            Seed = ulong.Parse(c["seed"].Text!, NumberStyles.None, CultureInfo.InvariantCulture),
            Epochs = maxSteps == null ? Int(c, "epochs")!.Value : 0,
            MaxSteps = maxSteps,
            BatchSize = Int(c, "batch_size")!.Value,
            MaxLength = Int(c, "max_length")!.Value,
            Schedule = c["schedule"].Text!,
            WarmupRatio = Double(c, "warmup_ratio"),
            WeightDecay = Double(c, "weight_decay"),
            MaxGradNorm = c["max_grad_norm"].Text is { } norm ? double.Parse(norm, NumberStyles.Float, CultureInfo.InvariantCulture) : null,
            AdapterDropout = DropoutMethods.Contains(method) ? Double(c, "adapter_dropout") : 0,
            AdamBeta1 = Double(c, "adam_beta1"),
            AdamBeta2 = Double(c, "adam_beta2"),
            AdamEpsilon = Double(c, "adam_epsilon"),
            GradientAccumulation = Int(c, "gradient_accumulation_steps")!.Value,
            FrozenBf16 = bool.Parse(c["frozen_bf16"].Text!),
            MethodOptions = options,
        };
    }

    private static string Format(double value) => value.ToString("R", CultureInfo.InvariantCulture);
}
