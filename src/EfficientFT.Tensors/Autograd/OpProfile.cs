using System.Diagnostics;

namespace EfficientFT.Tensors.Autograd;

/// <summary>Wall time spent in one op (by its recorded name and output shape) over a profiled stretch.</summary>
public sealed record OpTime(string Op, int Calls, double ForwardMs, double BackwardMs)
{
    public double TotalMs => ForwardMs + BackwardMs;
}

/// <summary>
/// Where a training step's time goes, op by op, for <c>eft perf train --profile</c>. A forward op is charged the
/// time since the previous op was recorded (its kernel runs just before it records itself, so this includes the
/// module code around it); a backward closure is timed directly; <see cref="Lap"/> charges the time since the last
/// op to a named phase such as the optimizer step. Meant for one thread driving the model: it is not synchronised.
/// </summary>
public static class OpProfile
{
    private sealed class Entry
    {
        public int Calls;
        public long Forward;
        public long Backward;
    }

    private static readonly Dictionary<string, Entry> Entries = [];
    private static long _last;

    public static bool Enabled { get; private set; }

    /// <summary>Clears earlier figures and starts charging time.</summary>
    public static void Start()
    {
        Entries.Clear();
        Enabled = true;
        _last = Stopwatch.GetTimestamp();
    }

    /// <summary>Stops charging time and returns every op's totals, the most expensive first.</summary>
    public static IReadOnlyList<OpTime> Stop()
    {
        Enabled = false;
        var ms = 1e3 / Stopwatch.Frequency;
        return Entries.Select(e => new OpTime(e.Key, e.Value.Calls, e.Value.Forward * ms, e.Value.Backward * ms))
            .OrderByDescending(t => t.TotalMs).ToList();
    }

    /// <summary>Charges the time since the last op or lap to <paramref name="phase"/>.</summary>
    public static void Lap(string phase)
    {
        if (!Enabled) return;
        var now = Stopwatch.GetTimestamp();
        var entry = EntryOf(phase);
        entry.Calls++;
        entry.Forward += now - _last;
        _last = now;
    }

    internal static void Forward(string op, Tensor output)
    {
        if (Enabled) Lap(Key(op, output));
    }

    internal static void Backward(string op, Tensor output, long start)
    {
        if (!Enabled) return;
        var now = Stopwatch.GetTimestamp();
        EntryOf(Key(op, output)).Backward += now - start;
        _last = now;
    }

    /// <summary>Ops are told apart by output shape too, so a LoRA product shows apart from the base layer's.</summary>
    private static string Key(string op, Tensor output) => $"{op} {Shapes.Format(output.Shape)}";

    private static Entry EntryOf(string op)
    {
        if (!Entries.TryGetValue(op, out var entry)) Entries[op] = entry = new Entry();
        return entry;
    }
}
