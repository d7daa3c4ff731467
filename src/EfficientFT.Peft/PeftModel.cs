using System.Text.Json;
using System.Text.Json.Nodes;
using EfficientFT.Models;
using EfficientFT.Models.IO;
using EfficientFT.Models.Nn;
using EfficientFT.Models.SafeTensors;
using EfficientFT.Peft.Methods;
using EfficientFT.Tensors;

namespace EfficientFT.Peft;

/// <summary>
/// A base model with a method installed: what trains (adapter tensors and the task head), how many parameters that
/// is, and the adapter in peft's layout on disk. As an <see cref="IStepHook"/> it stands for every hook of the
/// method and of its constraints, so a training loop adds <see cref="LossTerm"/> to the loss and calls
/// <see cref="AfterOptimizerStep"/> after each step without knowing which method runs.
/// </summary>
public sealed class PeftModel : IStepHook
{
    private const string KeyPrefix = "base_model.model.";

    private PeftModel(PretrainedModel model, IPeftMethod method, PeftOptions options,
        IReadOnlyList<(string Path, Linear Layer)> targets, IReadOnlyList<PeftParameter> trainable, IReadOnlyList<IStepHook> hooks)
    {
        Model = model;
        Method = method;
        Options = options;
        Targets = targets;
        Trainable = trainable;
        Hooks = hooks;
        Buffers = method.Buffers;
    }

    public PretrainedModel Model { get; }

    public IPeftMethod Method { get; }

    public PeftOptions Options { get; }

    /// <summary>The adapted linear modules, by Hugging Face path.</summary>
    public IReadOnlyList<(string Path, Linear Layer)> Targets { get; }

    /// <summary>Every trained tensor, method's first then the head, in module order (the optimizer's order).</summary>
    public IReadOnlyList<PeftParameter> Trainable { get; }

    /// <summary>The method's own hook (AdaLoRA) and the MPC constraint's, in that order.</summary>
    public IReadOnlyList<IStepHook> Hooks { get; }

    /// <summary>Frozen adapter tensors saved beside <see cref="Trainable"/> (VeRA's shared projections).</summary>
    public IReadOnlyList<PeftParameter> Buffers { get; }

    /// <summary>
    /// The model's tensors (by name) that <see cref="LoadAdapter"/> filled from the adapter's file: the head, where the
    /// adapter was saved with it. Empty for an adapter made here.
    /// </summary>
    public IReadOnlySet<string> HeadFromAdapter { get; private set; } = new HashSet<string>();

    /// <summary>
    /// The labels of the sequence classifier an adapter was trained on: the rows of its <paramref name="labelTensor"/>
    /// ("classifier.out_proj.weight"), when its task_type is SEQ_CLS and it carries that head; otherwise null.
    /// </summary>
    public static int? SequenceClassifierLabels(string directory, string labelTensor)
    {
        var configPath = Path.Combine(directory, "adapter_config.json");
        var weightsPath = Path.Combine(directory, "adapter_model.safetensors");
        if (!File.Exists(configPath) || !File.Exists(weightsPath) || AdapterConfigReader.TaskType(configPath) != "SEQ_CLS") return null;
        using var file = SafeTensorsFile.Open(weightsPath);
        // Methods without peft's keys (full_ft, BitFit, …) save the head under the model's own names.
        return new[] { KeyPrefix + labelTensor, labelTensor }.FirstOrDefault(file.Contains) is { } key && file.GetInfo(key).Shape is [var rows, ..]
            ? (int)rows
            : null;
    }

    /// <summary>A model tensor's name from its key in an adapter file, with or without peft's prefix.</summary>
    private static string ModelName(string key) => key.StartsWith(KeyPrefix, StringComparison.Ordinal) ? key[KeyPrefix.Length..] : key;

    /// <summary>The key peft saves an adapter tensor under: base_model.model.{module path}.{suffix}.</summary>
    public static string AdapterKey(string modulePath, string suffix) => $"{KeyPrefix}{modulePath}.{suffix}";

    /// <summary>
    /// Freezes the model, installs <paramref name="options"/>' method on its targets and unfreezes the head. A
    /// data-driven method (<see cref="IDataDrivenInit"/>, EVA) first looks at <paramref name="initBatches"/>;
    /// without them it starts as its reference does before its data pass (EVA: plain LoRA with B = 0).
    /// </summary>
    public static PeftModel Create(PretrainedModel model, PeftOptions options, IEnumerable<ModelBatch>? initBatches = null)
    {
        var method = PeftMethods.Create(options.Method);
        model.SetTrainable(false);
        var targets = BodyTargets(model, options);
        if (initBatches != null)
        {
            if (method is not IDataDrivenInit dataDriven)
                throw new ArgumentException($"{method.Name} does not initialise from data; pass no batches.");
            options = dataDriven.Initialise(model, targets, options, initBatches);
            targets = BodyTargets(model, options);
        }
        var trainable = method.Apply(model, targets, options).ToList();
        var hooks = new List<IStepHook>();
        if (method is IStepHook own) hooks.Add(own);
        if (options.Mpc is { } mpc && Mpc.Install(method, targets, mpc) is { } constraint) hooks.Add(constraint);
        foreach (var (name, tensor) in model.NamedTensors())
        {
            if (!model.IsInHead(name)) continue;
            tensor.RequiresGrad = true;
            trainable.Add(new PeftParameter(method.UsesPeftKeys ? KeyPrefix + name : name, tensor, ProjectionRole.Other, "head"));
        }
        return new PeftModel(model, method, options, targets, trainable, hooks);
    }

    /// <summary>
    /// Every tensor of the model trains, as in pretraining from scratch: full_ft's weights and biases of all linear
    /// modules and, beside them, the embeddings, norms and head bias that full_ft (which adapts projections) leaves
    /// frozen. Listing them all as trainable is what lets the Trainer's clipping and checkpoints cover the whole model.
    /// </summary>
    public static PeftModel CreateWhole(PretrainedModel model)
    {
        var options = new PeftOptions { Method = "full_ft", Targets = new TargetSpec([], ".*") };
        model.SetTrainable(true);
        var trainable = model.NamedTensors()
            .Select(p => new PeftParameter(p.Name, p.Value, TargetSpec.RoleOf(p.Name[..Math.Max(0, p.Name.LastIndexOf('.'))]), p.Value.Rank == 1 ? "bias" : "weight"))
            .ToList();
        return new PeftModel(model, new FullFineTuning(), options, options.Targets.Select(model), trainable, []);
    }

    private static List<(string Path, Linear Layer)> BodyTargets(PretrainedModel model, PeftOptions options) =>
        options.Targets.Select(model).Where(t => !model.IsInHead(t.Path)).ToList();

    public ModelOutput Forward(ModelBatch batch, ForwardContext context) => Model.Forward(batch, context);

    /// <summary>The sum of the hooks' loss terms, or null when none adds one.</summary>
    public Tensor? LossTerm()
    {
        Tensor? total = null;
        foreach (var hook in Hooks)
            if (hook.LossTerm() is { } term) total = total == null ? term : total + term;
        return total;
    }

    public void AfterOptimizerStep(int step)
    {
        foreach (var hook in Hooks) hook.AfterOptimizerStep(step);
    }

    /// <summary>Whether a hook carries state between steps that a checkpoint has to hold.</summary>
    public bool HasHookState => Hooks.Any(h => h is IStatefulStepHook);

    /// <summary>The state of every stateful hook (see <see cref="IStatefulStepHook"/>).</summary>
    public IReadOnlyList<SafeTensorsEntry> SaveHookState() =>
        Hooks.OfType<IStatefulStepHook>().SelectMany(h => h.SaveState()).ToList();

    public void LoadHookState(SafeTensorsFile state)
    {
        foreach (var hook in Hooks.OfType<IStatefulStepHook>()) hook.LoadState(state);
    }

    /// <summary>Trained elements.</summary>
    public long TrainableCount => Trainable.Sum(p => (long)p.Value.Size);

    /// <summary>Trained elements as a share of all elements (base model plus adapters), as peft reports it.</summary>
    public double TrainableShare
    {
        get
        {
            var all = Model.NamedTensors().Select(p => p.Value).Concat(Trainable.Select(p => p.Value))
                .Distinct(ReferenceEqualityComparer.Instance).Cast<Tensor>().Sum(t => (long)t.Size);
            return (double)TrainableCount / all;
        }
    }

    /// <summary>Folds every adapter into its base weight (adapters are then bypassed until <see cref="Unmerge"/>).</summary>
    public void Merge()
    {
        foreach (var (_, layer) in Targets) MergeableAdapter(layer).Merge(layer);
    }

    public void Unmerge()
    {
        foreach (var (_, layer) in Targets) MergeableAdapter(layer).Unmerge(layer);
    }

    private IMergeableAdapter MergeableAdapter(Linear layer) => layer.Adapter as IMergeableAdapter
        ?? throw new NotSupportedException($"{Method.Name} cannot be merged into the base weights.");

    /// <summary>
    /// Merges the adapters and removes them, leaving a plain model (save it with <see cref="Pretrained.Save"/>).
    /// Methods that train base tensors directly install no adapter and are already "merged".
    /// </summary>
    public PretrainedModel MergeAndUnload()
    {
        foreach (var (_, layer) in Targets)
        {
            if (layer.Adapter == null) continue;
            MergeableAdapter(layer).Merge(layer);
            layer.Adapter = null;
        }
        return Model;
    }

    /// <summary>Writes adapter_config.json and adapter_model.safetensors (each atomically) to <paramref name="directory"/>.</summary>
    /// <param name="baseModel">
    /// The base model as the user named it (a repository id or a directory), written as base_model_name_or_path so
    /// that peft's AutoPeftModel.from_pretrained(adapter) finds the base.
    /// </param>
    public void SaveAdapter(string directory, string? baseModel = null)
    {
        // The config first: a method that cannot be saved refuses there, before any file is written.
        var config = AdapterConfig(Options.Targets);
        // Where the config would make peft select other modules than the ones adapted here, the modules are named in
        // full, a form peft takes (and this reader takes back): layers beside a regular expression, which peft refuses;
        // layers for IA³, whose config has no such field; an alias whose spelling also names another projection.
        if (config.ContainsKey("target_modules") && !SelectsTheTargets(config))
            config = AdapterConfig(new TargetSpec(Targets.Select(t => t.Path).ToList()));
        Directory.CreateDirectory(directory);
        SafeTensorsWriter.Save(Path.Combine(directory, "adapter_model.safetensors"),
            Method is IAdapterExporter exporter
                ? exporter.TensorsToSave(Trainable).Concat(Buffers.Select(p => KeyValuePair.Create(p.Name, p.Value)))
                : Trainable.Concat(Buffers).Select(p => KeyValuePair.Create(p.Name, p.Value)));
        // MPC_n changes the function the adapter computes, which peft's config cannot say: its own peft_type makes peft
        // refuse the file rather than load a linear adapter. MPC_o and MPC_d only shaped training, and their adapters
        // are plain peft adapters.
        if (Options.Mpc is { Kind: MpcKind.Nonlinear } nonlinear)
        {
            config["peft_type"] = $"EFT_{config["peft_type"]!.GetValue<string>()}{AdapterConfigReader.MpcNonlinearSuffix}";
            config[AdapterConfigReader.MpcNonlinearGainKey] = nonlinear.Coefficient;
        }
        if (baseModel != null && config.ContainsKey("base_model_name_or_path")) config["base_model_name_or_path"] = baseModel;
        var text = config.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
        AtomicFile.WriteAllText(Path.Combine(directory, "adapter_config.json"), text);
    }

    /// <summary>Whether the config's target_modules and layers_to_transform select exactly the modules adapted here.</summary>
    private bool SelectsTheTargets(JsonObject config)
    {
        if (config["target_modules"] is not JsonArray names) return Options.Targets.Layers == null;
        var layers = config["layers_to_transform"] switch
        {
            JsonArray list => list.Select(n => n!.GetValue<int>()).ToList(),
            JsonValue one => [one.GetValue<int>()],
            _ => (IReadOnlyList<int>?)null,
        };
        var spec = new TargetSpec(names.Select(n => n!.GetValue<string>()).ToList(), null, layers);
        var selected = Model.NamedModules().Where(m => m.Module is Linear && spec.Matches(m.Path) && !Model.IsInHead(m.Path)).Select(m => m.Path);
        return selected.ToHashSet(StringComparer.Ordinal).SetEquals(Targets.Select(t => t.Path));
    }

    /// <summary>The method's adapter_config.json for these options with <paramref name="targets"/> as what they target.</summary>
    private JsonObject AdapterConfig(TargetSpec targets) => Method.AdapterConfig(Options with { Targets = targets },
        targets.ResolvedNames(Model.NamedModules().Select(m => m.Path)), Model.HeadModules, Model.PeftTaskType);

    /// <summary>
    /// Installs an adapter saved by peft or by <see cref="SaveAdapter"/> on <paramref name="model"/> and loads its tensors.
    /// </summary>
    public static PeftModel LoadAdapter(PretrainedModel model, string directory)
    {
        var configPath = Path.Combine(directory, "adapter_config.json");
        if (!File.Exists(configPath)) throw new FileNotFoundException($"{directory}: no adapter_config.json.", configPath);
        var options = AdapterConfigReader.Read(configPath);
        var peft = Create(model, options);
        using var file = SafeTensorsFile.Open(Path.Combine(directory, "adapter_model.safetensors"));
        var missing = peft.Trainable.Where(p => !file.Contains(p.Name) && p.Kind != "head").Select(p => p.Name).ToList();
        if (missing.Count > 0)
            throw new InvalidDataException($"{directory}: adapter_model.safetensors lacks {missing.Count} tensor(s) of the configured adapter: {string.Join(", ", missing.Take(5))}");
        // Buffers come from torch's generator in the reference, which cannot be replayed: they must be in the file.
        var missingBuffers = peft.Buffers.Where(p => !file.Contains(p.Name)).Select(p => p.Name).ToList();
        if (missingBuffers.Count > 0)
            throw new InvalidDataException($"{directory}: adapter_model.safetensors lacks {string.Join(", ", missingBuffers)}; save the adapter with its projections (save_projection=True).");
        // A tensor nothing here reads is a trained part of the adapter this configuration does not describe (peft's
        // modules_to_save on an LM head, say): refused, as loading without it would silently compute something else.
        var known = peft.Trainable.Concat(peft.Buffers).Select(p => p.Name).ToHashSet(StringComparer.Ordinal);
        var unused = file.Names.Where(name => !known.Contains(name)).ToList();
        if (unused.Count > 0)
            throw new InvalidDataException($"{directory}: adapter_model.safetensors holds {unused.Count} tensor(s) the configured adapter does not use: {string.Join(", ", unused.Take(5))}");
        foreach (var p in peft.Trainable.Concat(peft.Buffers))
        {
            if (!file.Contains(p.Name)) continue;
            var value = file.GetTensor(p.Name);
            if (!Shapes.SameShape(value.Shape, p.Value.Shape))
                throw new InvalidDataException($"{directory}: tensor {p.Name} has shape {Shapes.Format(value.Shape)}, the model expects {Shapes.Format(p.Value.Shape)}.");
            p.Value.CopyFrom(value.AsSpan());
        }
        peft.HeadFromAdapter = peft.Trainable.Where(p => p.Kind == "head" && file.Contains(p.Name))
            .Select(p => ModelName(p.Name)).ToHashSet(StringComparer.Ordinal);
        return peft;
    }
}
