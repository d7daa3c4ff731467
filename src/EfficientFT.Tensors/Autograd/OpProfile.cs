using System.Diagnostics;
using System.Runtime.InteropServices;

namespace EfficientFT.Tensors.Autograd;

/// <summary>
/// Wall time spent in one op (by its recorded name and output shape) over a profiled stretch, and the page faults
/// (first touches of memory) taken meanwhile; both are 0 for faults where the platform does not count them.
/// </summary>
public sealed record OpTime(string Op, int Calls, double ForwardMs, double BackwardMs, long PageFaults)
{
    public double TotalMs => ForwardMs + BackwardMs;
}

/// <summary>
/// Where a training step's time goes, op by op, for <c>eft perf train --profile</c>. A forward op is charged the
/// time since the previous op was recorded (its kernel runs just before it records itself, so this includes the
/// module code around it); a backward closure is timed directly; <see cref="Lap"/> charges the time since the last
/// op to a named phase such as the optimizer step. Page faults are charged the same way (the process's count, so
/// worker threads' faults land on the op that ran them). Meant for one thread driving the model: it is not synchronised.
/// </summary>
public static partial class OpProfile
{
    private sealed class Entry
    {
        public int Calls;
        public long Forward;
        public long Backward;
        public long Faults;
    }

    private static readonly Dictionary<string, Entry> Entries = [];
    private static long _last;
    private static long _lastFaults;

    public static bool Enabled { get; private set; }

    /// <summary>Clears earlier figures and starts charging time.</summary>
    public static void Start()
    {
        Entries.Clear();
        Enabled = true;
        _lastFaults = PageFaults();
        _last = Stopwatch.GetTimestamp();
    }

    /// <summary>Stops charging time and returns every op's totals, the most expensive first.</summary>
    public static IReadOnlyList<OpTime> Stop()
    {
        Enabled = false;
        var ms = 1e3 / Stopwatch.Frequency;
        return Entries.Select(e => new OpTime(e.Key, e.Value.Calls, e.Value.Forward * ms, e.Value.Backward * ms, e.Value.Faults))
            .OrderByDescending(t => t.TotalMs).ToList();
    }

    /// <summary>Leaves the time and faults since the last op or lap uncharged: work between steps that is no op's.</summary>
    public static void SkipSinceLast()
    {
        if (!Enabled) return;
        ChargeFaults();
        _last = Stopwatch.GetTimestamp();
    }

    /// <summary>Charges the time since the last op or lap to <paramref name="phase"/>.</summary>
    public static void Lap(string phase)
    {
        if (!Enabled) return;
        var now = Stopwatch.GetTimestamp();
        var entry = EntryOf(phase);
        entry.Calls++;
        entry.Forward += now - _last;
        entry.Faults += ChargeFaults();
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
        var entry = EntryOf(Key(op, output));
        entry.Backward += now - start;
        entry.Faults += ChargeFaults();
        _last = now;
    }

    /// <summary>Faults since the last charge.</summary>
    private static long ChargeFaults()
    {
        var faults = PageFaults();
        var since = faults - _lastFaults;
        _lastFaults = faults;
        return since;
    }

    /// <summary>The process's minor page faults so far: getrusage's ru_minflt on Linux, 0 elsewhere.</summary>
    public static long PageFaults()
    {
        if (!OperatingSystem.IsLinux()) return 0;
        return GetResourceUsage(0, out var usage) == 0 ? usage.MinorFaults : 0;
    }

    /// <summary>struct rusage on 64-bit Linux: two timevals, then the counters; ru_minflt is the fifth of them.</summary>
    [StructLayout(LayoutKind.Sequential)]
    private struct ResourceUsage
    {
        public long UserSeconds, UserMicroseconds, SystemSeconds, SystemMicroseconds;
        public long MaxResident, SharedText, UnsharedData, UnsharedStack, MinorFaults, MajorFaults;
        public long Swaps, BlockInputs, BlockOutputs, MessagesSent, MessagesReceived, Signals, VoluntarySwitches, InvoluntarySwitches;
    }

    [LibraryImport("libc", EntryPoint = "getrusage")]
    private static partial int GetResourceUsage(int who, out ResourceUsage usage);

    /// <summary>Ops are told apart by output shape too, so a LoRA product shows apart from the base layer's.</summary>
    private static string Key(string op, Tensor output) => $"{op} {Shapes.Format(output.Shape)}";

    private static Entry EntryOf(string op)
    {
        if (!Entries.TryGetValue(op, out var entry)) Entries[op] = entry = new Entry();
        return entry;
    }
}
