namespace EfficientFT.Training.Schedules;

/// <summary>
/// The multiplier of the base learning rate as Hugging Face's LambdaLR schedules compute it. <c>step</c> is the
/// scheduler's 0-based count of optimizer steps already taken, so the first update runs at <c>Multiplier(0)</c>,
/// which is 0 when there is warm-up, as in transformers.
/// </summary>
public static class LearningRateSchedules
{
    /// <summary>The schedule a name gives (constant, linear, cosine; any case), or null: numbers are not names.</summary>
    public static ScheduleKind? Parse(string name) =>
        Enum.GetValues<ScheduleKind>().Select(k => (ScheduleKind?)k).FirstOrDefault(k => string.Equals(k.ToString(), name, StringComparison.OrdinalIgnoreCase));

    public static double Multiplier(ScheduleKind kind, int step, int totalSteps, int warmupSteps) => kind switch
    {
        ScheduleKind.Constant => Constant(step, warmupSteps),
        ScheduleKind.Linear => Linear(step, totalSteps, warmupSteps),
        ScheduleKind.Cosine => Cosine(step, totalSteps, warmupSteps),
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "Unknown schedule."),
    };

    public static double Constant(int step, int warmupSteps) =>
        step < warmupSteps ? (double)step / Math.Max(1, warmupSteps) : 1.0;

    public static double Linear(int step, int totalSteps, int warmupSteps) =>
        step < warmupSteps
            ? (double)step / Math.Max(1, warmupSteps)
            : Math.Max(0.0, (double)(totalSteps - step) / Math.Max(1, totalSteps - warmupSteps));

    public static double Cosine(int step, int totalSteps, int warmupSteps, double cycles = 0.5)
    {
        if (step < warmupSteps) return (double)step / Math.Max(1, warmupSteps);
        var progress = (double)(step - warmupSteps) / Math.Max(1, totalSteps - warmupSteps);
        return Math.Max(0.0, 0.5 * (1.0 + Math.Cos(Math.PI * cycles * 2.0 * progress)));
    }
}
