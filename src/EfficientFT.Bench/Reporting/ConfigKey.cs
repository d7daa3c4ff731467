using System.Globalization;
using EfficientFT.Peft;

namespace EfficientFT.Bench.Reporting;

/// <summary>
/// One row of the results table: the settings that differ between the compared configurations (the paper's Table 2
/// rows are method × targets × rank × λ); runs that share a key and a task differ only by seed and are pooled.
/// <paramref name="Rest"/> holds any other setting a grid varies ("alpha=16 epochs=3"), so that runs which differ in it
/// are not pooled as if only the seed differed; it is empty when nothing else varies.
/// </summary>
public sealed record ConfigKey(string Model, string Method, string Targets, int Rank, double Lambda, double LearningRate, string Rest = "")
{
    /// <summary>Methods whose trainable set does not depend on the rank, so the rank is not shown for them.</summary>
    private static readonly HashSet<string> Rankless = ["full_ft", "bitfit", "ssl", "ssb", "ia3", "sift"];

    /// <summary>The order of the paper's table first (full fine-tuning, LoRA, DoRA), then alphabetical.</summary>
    private static readonly string[] MethodOrder = ["full_ft", "lora", "dora", "pissa", "olora", "rslora", "loraplus"];

    /// <summary>
    /// The key of a run's settings. A model held in bfloat16 computes other numbers than the same model in float32,
    /// so it counts as another model ("embedded (bf16)") rather than pooling with it as if only the seed differed.
    /// </summary>
    public static ConfigKey Of(RunSettings s) =>
        new(s.FrozenBf16 ? $"{s.Model} (bf16)" : s.Model, s.Method, s.Targets, s.Rank, s.Lambda, s.LearningRate);

    /// <summary>
    /// The settings outside the key's own fields, seed and task, by name: what <see cref="Rest"/> is made of for the
    /// names a table finds varying. Each of <paramref name="options"/> the run does not set reads "default".
    /// </summary>
    public static IReadOnlyList<(string Name, string Value)> OtherSettings(RunSettings s, IReadOnlyList<string> options) =>
    [
        ("alpha", Format.Number(s.Alpha)), ("epochs", s.Epochs.ToString(CultureInfo.InvariantCulture)),
        ("max_steps", s.MaxSteps?.ToString(CultureInfo.InvariantCulture) ?? "-"), ("batch_size", s.BatchSize.ToString(CultureInfo.InvariantCulture)),
        ("max_length", s.MaxLength.ToString(CultureInfo.InvariantCulture)), ("schedule", s.Schedule),
        ("warmup_ratio", Format.Number(s.WarmupRatio)), ("weight_decay", Format.Number(s.WeightDecay)),
        ("max_grad_norm", s.MaxGradNorm is { } clip ? Format.Number(clip) : "-"), ("adapter_dropout", Format.Number(s.AdapterDropout)),
        ("adam_beta1", Format.Number(s.AdamBeta1)), ("adam_beta2", Format.Number(s.AdamBeta2)), ("adam_epsilon", Format.Number(s.AdamEpsilon)),
        ("gradient_accumulation_steps", s.GradientAccumulation.ToString(CultureInfo.InvariantCulture)),
        .. options.Select(o => (o, s.MethodOptions.GetValueOrDefault(o) ?? "default")),
    ];

    public bool UsesRank => !Rankless.Contains(Method);

    /// <summary>The targeted projections as a set, so "q,v" and "v,q" compare equal.</summary>
    public IReadOnlySet<string> TargetSet => Targets.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).ToHashSet();

    /// <summary>The method's name in tables; a combination's parts joined as written ("PiSSA+DoRA").</summary>
    public static string MethodName(string method) => string.Join('+', PeftMethods.Parts(method).Select(PartName));

    private static string PartName(string method) => method switch
    {
        "full_ft" => "Full FT",
        "lora" => "LoRA",
        "dora" => "DoRA",
        "pissa" => "PiSSA",
        "olora" => "OLoRA",
        "rslora" => "rsLoRA",
        "loraplus" => "LoRA+",
        "adalora" => "AdaLoRA",
        "galore" => "GaLore",
        "sift" => "SIFT",
        "ia3" => "IA³",
        "vera" => "VeRA",
        "bitfit" => "BitFit",
        "eva" => "EVA",
        "ssl" => "SSL",
        "ssb" => "SSB",
        _ => method,
    };

    /// <summary>"LoRA q,v r=8 λ=2" (and the learning rate when <paramref name="withLearningRate"/>).</summary>
    public string Label(bool withLearningRate = false) =>
        $"{MethodName(Method)} {Targets}{(UsesRank ? $" r={Rank}" : "")} λ={Format.Number(Lambda)}" +
        (withLearningRate ? $" lr={Format.Number(LearningRate)}" : "") + (Rest.Length > 0 ? " " + Rest : "");

    /// <summary>Table order: model, method (paper order), targets (q,k,v before q,v as in Table 2), rank, λ, lr.</summary>
    public static int Compare(ConfigKey a, ConfigKey b)
    {
        int c;
        if ((c = string.CompareOrdinal(a.Model, b.Model)) != 0) return c;
        if ((c = MethodRank(a.Method).CompareTo(MethodRank(b.Method))) != 0) return c;
        if ((c = string.CompareOrdinal(a.Method, b.Method)) != 0) return c;
        if ((c = b.TargetSet.Count.CompareTo(a.TargetSet.Count)) != 0) return c;
        if ((c = string.CompareOrdinal(a.Targets, b.Targets)) != 0) return c;
        if ((c = a.Rank.CompareTo(b.Rank)) != 0) return c;
        if ((c = a.Lambda.CompareTo(b.Lambda)) != 0) return c;
        if ((c = a.LearningRate.CompareTo(b.LearningRate)) != 0) return c;
        return CompareRest(a.Rest, b.Rest);
    }

    /// <summary>Setting by setting, numbers by value ("alpha=8" before "alpha=16"), other values as text.</summary>
    private static int CompareRest(string a, string b)
    {
        var (x, y) = (a.Split(' '), b.Split(' '));
        for (var i = 0; i < Math.Min(x.Length, y.Length); i++)
        {
            var (u, v) = (x[i][(x[i].IndexOf('=') + 1)..], y[i][(y[i].IndexOf('=') + 1)..]);
            var c = double.TryParse(u, NumberStyles.Float, CultureInfo.InvariantCulture, out var p)
                    && double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out var q)
                ? p.CompareTo(q)
                : string.CompareOrdinal(x[i], y[i]);
            if (c != 0) return c;
        }
        return x.Length.CompareTo(y.Length);
    }

    private static int MethodRank(string method)
    {
        var i = Array.IndexOf(MethodOrder, method);
        return i < 0 ? MethodOrder.Length : i;
    }
}
