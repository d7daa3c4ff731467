using EfficientFT.Training.Data;
using EfficientFT.Training.Metrics;

namespace EfficientFT.Training.Tests.Glue;

public sealed class GlueTaskTests
{
    [Theory]
    [InlineData("cola", Metric.MatthewsCorrelation)]
    [InlineData("sst2", Metric.Accuracy)]
    [InlineData("mrpc", Metric.Accuracy)]
    [InlineData("stsb", Metric.Pearson)]
    [InlineData("qqp", Metric.Accuracy)]
    [InlineData("mnli", Metric.Accuracy)]
    [InlineData("qnli", Metric.Accuracy)]
    [InlineData("rte", Metric.Accuracy)]
    public void Registry_HoldsThePapersHeadlines(string name, Metric headline)
    {
        var task = GlueTasks.Get(name);
        Assert.Equal(name, task.Name);
        Assert.Equal(headline, task.HeadlineMetric);
        Assert.Contains(headline, task.Metrics);
    }

    [Fact]
    public void Registry_IsCaseInsensitive_AndRejectsUnknownNames()
    {
        Assert.Same(GlueTasks.Mnli, GlueTasks.Get("MNLI"));
        Assert.Equal(8, GlueTasks.All.Count);
        var error = Assert.Throws<ArgumentException>(() => GlueTasks.Get("wnli"));
        Assert.Contains("cola", error.Message);
    }

    [Fact]
    public void PairTasks_ReportF1_AndStsbIsRegression()
    {
        Assert.Equal([Metric.Accuracy, Metric.F1], GlueTasks.Mrpc.Metrics);
        Assert.Equal([Metric.Accuracy, Metric.F1], GlueTasks.Qqp.Metrics);
        Assert.True(GlueTasks.Stsb.IsRegression);
        Assert.Equal(1, GlueTasks.Stsb.LabelCount);
        Assert.Equal([Metric.Pearson, Metric.Spearman], GlueTasks.Stsb.Metrics);
        Assert.Equal(new SentenceKeys("premise", "hypothesis"), GlueTasks.Mnli.SentenceKeys);
        Assert.Equal(3, GlueTasks.Mnli.LabelCount);
        Assert.Null(GlueTasks.Sst2.SentenceKeys.Second);
    }

    [Fact]
    public void MnliHeadline_IsTheMeanOfMatchedAndMismatched()
    {
        Assert.Equal(["validation_matched", "validation_mismatched"], GlueTasks.Mnli.EvaluationSplits);
        var headline = GlueTasks.Mnli.Headline(new Dictionary<string, double> { ["validation_matched"] = 0.8, ["validation_mismatched"] = 0.9 });
        Assert.Equal(0.85, headline, 1e-12);
        Assert.Throws<ArgumentException>(() => GlueTasks.Mnli.Headline(new Dictionary<string, double> { ["validation_matched"] = 0.8 }));
        Assert.Equal(0.6, GlueTasks.Cola.Headline(new Dictionary<string, double> { ["validation"] = 0.6 }));
    }
}
