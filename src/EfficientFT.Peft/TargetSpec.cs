using System.Text.RegularExpressions;
using EfficientFT.Models.Nn;

namespace EfficientFT.Peft;

/// <summary>
/// Which linear modules a method adapts, as peft's target_modules, layers_to_transform and a regex pattern do:
/// a name matches a module whose path is the name or ends with "." + name; a pattern must match the whole path;
/// layers restrict to encoder/decoder layer indices. Short names q, k, v, o, gate, up, down stand for both
/// families' spellings (query / q_proj, …).
/// </summary>
public sealed record TargetSpec(IReadOnlyList<string> Modules, string? Pattern = null, IReadOnlyList<int>? Layers = null)
{
    private static readonly Dictionary<string, string[]> Aliases = new()
    {
        ["q"] = ["query", "q_proj"],
        ["k"] = ["key", "k_proj"],
        ["v"] = ["value", "v_proj"],
        ["o"] = ["attention.output.dense", "o_proj"],
        ["gate"] = ["gate_proj"],
        ["up"] = ["intermediate.dense", "up_proj"],
        ["down"] = ["output.dense", "down_proj"],
    };

    /// <summary>
    /// Paths an alias's spelling would name by suffix but that are another projection: RoBERTa's feed-forward output
    /// (layer.N.output.dense) and its attention output (layer.N.attention.output.dense) share the suffix output.dense.
    /// </summary>
    private static readonly Dictionary<string, string> AliasExcludes = new() { ["down"] = "attention.output.dense" };

    /// <summary>
    /// The names a model gives its list of blocks (RoBERTa's layer, LLaMA's layers, GPT-2's h, …): the layers_pattern
    /// values this reads layer indices under.
    /// </summary>
    public static readonly IReadOnlyList<string> LayerListNames = ["layer", "layers", "h", "blocks"];

    private static readonly Regex LayerIndex = new($@"(?:^|\.)(?:{string.Join("|", LayerListNames)})\.(\d+)\.", RegexOptions.Compiled);

    /// <summary>
    /// Whether each name must name a module of the model, as for targets a user gives: one that names none would drop
    /// out silently. A peft config read back needs only some to match, as peft does.
    /// </summary>
    public bool EveryNameMatches { get; init; } = true;

    /// <summary>"q,v" or "query,value" (comma-separated names).</summary>
    public static TargetSpec Parse(string modules, string? pattern = null, IReadOnlyList<int>? layers = null) =>
        new(modules.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries), pattern, layers);

    /// <summary>The names as peft writes them in target_modules, with aliases expanded to the spellings this model uses.</summary>
    public IReadOnlyList<string> ResolvedNames(IEnumerable<string> modulePaths)
    {
        var paths = modulePaths.ToList();
        return Modules.SelectMany(m => Aliases.TryGetValue(m, out var spelled)
                ? spelled.Where(s => paths.Any(p => IsNamed(p, s))).Take(1)
                : [m])
            .Distinct().ToList();
    }

    /// <summary>The matching linear modules in model order, or an error listing what the model has.</summary>
    public IReadOnlyList<(string Path, Linear Layer)> Select(Module model, string excludePrefix = "")
    {
        var linears = model.NamedModules().Where(m => m.Module is Linear && (excludePrefix == "" || !m.Path.StartsWith(excludePrefix, StringComparison.Ordinal)))
            .Select(m => (m.Path, Layer: (Linear)m.Module)).ToList();
        var selected = linears.Where(l => Matches(l.Path)).ToList();
        string Has() => string.Join(", ", linears.Select(l => LayerIndex.Replace(l.Path, m => m.Value.Replace(m.Groups[1].Value, "N"))).Distinct().Take(12));
        if (selected.Count == 0)
            throw new ArgumentException($"Targets {string.Join(",", Modules)}{(Pattern != null ? $" (pattern {Pattern})" : "")}{(Layers != null ? $" in layers {string.Join(",", Layers)}" : "")} match no linear module; the model has: {Has()}.");
        // One name the model lacks ("gate" on RoBERTa) would otherwise drop out silently and train what the others name.
        if (Pattern == null && EveryNameMatches && Modules.FirstOrDefault(m => !linears.Any(l => NameMatches(l.Path, m))) is { } missing)
            throw new ArgumentException($"Target {missing} matches no linear module of this model; the model has: {Has()}.");
        return selected;
    }

    /// <summary>Whether the module at <paramref name="path"/> is targeted, whatever kind of module it is.</summary>
    public bool Matches(string path)
    {
        var named = Pattern == null ? Modules.Any(m => NameMatches(path, m)) : Regex.IsMatch(path, "^(?:" + Pattern + ")$");
        return named && (Layers == null || (LayerOf(path) is { } i && Layers.Contains(i)));
    }

    /// <summary>The layer index in a module path ("roberta.encoder.layer.3.attention…" → 3), if any.</summary>
    public static int? LayerOf(string path)
    {
        var m = LayerIndex.Match(path);
        return m.Success ? int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) : null;
    }

    /// <summary>The projection a module path belongs to, from its last name.</summary>
    public static ProjectionRole RoleOf(string path)
    {
        var last = path[(path.LastIndexOf('.') + 1)..];
        return last switch
        {
            "query" or "q_proj" => ProjectionRole.Query,
            "key" or "k_proj" => ProjectionRole.Key,
            "value" or "v_proj" => ProjectionRole.Value,
            _ => ProjectionRole.Other,
        };
    }

    /// <summary>Whether one of the target names (an alias in any of its spellings) names the module at <paramref name="path"/>.</summary>
    private static bool NameMatches(string path, string module) => Aliases.TryGetValue(module, out var spelled)
        ? spelled.Any(n => IsNamed(path, n)) && !(AliasExcludes.TryGetValue(module, out var other) && IsNamed(path, other))
        : IsNamed(path, module);

    private static bool IsNamed(string path, string name) => path == name || path.EndsWith("." + name, StringComparison.Ordinal);
}
