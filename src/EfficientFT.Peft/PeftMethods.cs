using EfficientFT.Peft.Methods;

namespace EfficientFT.Peft;

/// <summary>The one table of methods: name → factory. Adding a method is one file and one line here.</summary>
public static class PeftMethods
{
    public static IReadOnlyDictionary<string, Func<IPeftMethod>> Registry { get; } = new Dictionary<string, Func<IPeftMethod>>
    {
        ["full_ft"] = () => new FullFineTuning(),
        ["lora"] = () => new Lora("lora"),
        // LoRA+ (Hayou et al. 2024) is LoRA with lora_B on a faster learning rate: the layer is LoRA's, the ratio is
        // an optimizer option (ParameterGroups' loraPlusRatio).
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

    public static IPeftMethod Create(string name) => Registry.TryGetValue(name, out var factory)
        ? factory()
        : throw new ArgumentException($"Unknown method '{name}'; available: {string.Join(", ", Registry.Keys)}.");
}
