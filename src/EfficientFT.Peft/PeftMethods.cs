using EfficientFT.Peft.Methods;

namespace EfficientFT.Peft;

/// <summary>The one table of methods: name → factory. Adding a method is one file and one line here.</summary>
public static class PeftMethods
{
    /// <summary>
    /// The LoRA initialisations peft's init_lora_weights names, each of which combines with rsLoRA's scale
    /// (use_rslora) and DoRA's magnitude (use_dora): "pissa+dora", "rslora+dora", "eva+rslora+dora". Plain LoRA's own
    /// combinations keep the names the papers and the benchmark use, "rslora" and "dora".
    /// </summary>
    private static readonly (string Name, Func<string, bool, bool, IPeftMethod> Create)[] LoraInitialisations =
    [
        ("lora", (name, rs, dora) => new Lora(name, LoraInit.Default, rs, dora)),
        ("pissa", (name, rs, dora) => new Lora(name, LoraInit.Pissa, rs, dora)),
        ("olora", (name, rs, dora) => new Lora(name, LoraInit.Olora, rs, dora)),
        ("eva", (name, rs, dora) => new Eva(name, rs, dora)),
    ];

    public static IReadOnlyDictionary<string, Func<IPeftMethod>> Registry { get; } = BuildRegistry();

    private static Dictionary<string, Func<IPeftMethod>> BuildRegistry()
    {
        var registry = new Dictionary<string, Func<IPeftMethod>>
        {
            ["full_ft"] = () => new FullFineTuning(),
            ["lora"] = () => new Lora("lora"),
            // LoRA+ (Hayou et al. 2024) is LoRA with lora_B on a faster learning rate: the layer is LoRA's, the ratio
            // is an optimizer option (ParameterGroups' loraPlusRatio).
            ["loraplus"] = () => new Lora("loraplus"),
            ["rslora"] = () => new Lora("rslora", rsLora: true),
            ["dora"] = () => new Lora("dora", dora: true),
            ["pissa"] = () => new Lora("pissa", LoraInit.Pissa),
            ["olora"] = () => new Lora("olora", LoraInit.Olora),
            ["adalora"] = () => new AdaLora(),
            ["galore"] = () => new GaLore(),
            ["sift"] = () => new Sift(),
            ["eva"] = () => new Eva(),
            ["ia3"] = () => new Ia3(),
            ["vera"] = () => new Vera(),
            ["ssl"] = () => new Ssl(),
            ["ssb"] = () => new Ssb(),
            ["bitfit"] = () => new BitFit(),
        };
        foreach (var (init, create) in LoraInitialisations)
        foreach (var (rs, dora) in (ReadOnlySpan<(bool, bool)>)[(true, false), (false, true), (true, true)])
        {
            var name = LoraName(init, rs, dora);
            registry.TryAdd(name, () => create(name, rs, dora));
        }
        return registry;
    }

    /// <summary>Every method that is LoRA's layer: LoRA+, and each initialisation with or without rsLoRA and DoRA.</summary>
    public static IReadOnlySet<string> LoraFamily { get; } =
        LoraInitialisations.SelectMany(init => new[] { false, true }.SelectMany(rs => new[] { false, true }.Select(dora => LoraName(init.Name, rs, dora))))
            .Append("loraplus").ToHashSet();

    /// <summary>
    /// The registry name of peft's LoRA with <paramref name="initialisation"/> (lora, pissa, olora, eva) and the
    /// use_rslora and use_dora flags.
    /// </summary>
    public static string LoraName(string initialisation, bool rsLora, bool dora) => (initialisation, rsLora, dora) switch
    {
        ("lora", false, false) => "lora",
        ("lora", true, false) => "rslora",
        ("lora", false, true) => "dora",
        ("lora", true, true) => "rslora+dora",
        _ => initialisation + (rsLora ? "+rslora" : "") + (dora ? "+dora" : ""),
    };

    /// <summary>The parts a combined name is made of ("pissa+dora" → pissa, dora); a plain name is its one part.</summary>
    public static IReadOnlyList<string> Parts(string method) => method.Split('+');

    public static IPeftMethod Create(string name) => Registry.TryGetValue(name, out var factory)
        ? factory()
        : throw new ArgumentException($"Unknown method '{name}'; available: {string.Join(", ", Registry.Keys)}.");
}
