using EfficientFT.Training.Schedules;

namespace EfficientFT.Training.Tests;

/// <summary>Schedule values at chosen steps, worked out by hand from transformers' lr_lambda formulas.</summary>
public sealed class TrainerScheduleTests
{
    [Theory]
    [InlineData(0, 0.0)]
    [InlineData(5, 0.5)]
    [InlineData(10, 1.0)]
    [InlineData(55, 0.5)]
    [InlineData(100, 0.0)]
    [InlineData(120, 0.0)]
    public void Linear_WarmsUpThenDecaysToZero(int step, double expected) =>
        Assert.Equal(expected, LearningRateSchedules.Multiplier(ScheduleKind.Linear, step, 100, 10), 12);

    [Theory]
    [InlineData(0, 0.0)]
    [InlineData(2, 0.5)]
    [InlineData(4, 1.0)]
    [InlineData(1000, 1.0)]
    public void Constant_WarmsUpThenHolds(int step, double expected) =>
        Assert.Equal(expected, LearningRateSchedules.Multiplier(ScheduleKind.Constant, step, 100, 4), 12);

    [Fact]
    public void Constant_WithoutWarmUp_IsOneFromTheFirstStep() =>
        Assert.Equal(1.0, LearningRateSchedules.Multiplier(ScheduleKind.Constant, 0, 100, 0), 12);

    [Fact]
    public void Linear_WithoutWarmUp_StartsAtOne() =>
        Assert.Equal(1.0, LearningRateSchedules.Multiplier(ScheduleKind.Linear, 0, 100, 0), 12);

    [Theory]
    [InlineData(0, 0.0)]
    [InlineData(5, 0.5)]
    [InlineData(10, 1.0)]
    [InlineData(55, 0.5)]
    [InlineData(100, 0.0)]
    public void Cosine_WarmsUpThenFollowsHalfACosine(int step, double expected) =>
        Assert.Equal(expected, LearningRateSchedules.Multiplier(ScheduleKind.Cosine, step, 100, 10), 12);

    [Fact]
    public void Cosine_AtAQuarter_IsTheCosineFormula() =>
        // (35 − 10) / (110 − 10) = 0.25 of the decay → 0.5·(1 + cos(π/4)).
        Assert.Equal(0.5 * (1 + Math.Cos(Math.PI / 4)), LearningRateSchedules.Multiplier(ScheduleKind.Cosine, 35, 110, 10), 12);
}
