using EfficientFT.Training.Data;
using EfficientFT.Training.Metrics;

namespace EfficientFT.Training.Tests.Glue;

public sealed class GlueCustomTaskTests : IDisposable
{
    private readonly GlueTempFiles _files = new();

    public void Dispose() => _files.Dispose();

    [Fact]
    public void ClassificationTask_DrivesTheReaders()
    {
        var task = CustomTaskReader.Read(_files.Write("reviews.json", """
            {
              "name": "reviews",
              "text_columns": ["title", "body"],
              "label_column": "stars",
              "label_names": ["bad", "good"],
              "metrics": ["accuracy", "f1", "mcc"],
              "headline": "mcc"
            }
            """));

        Assert.Equal(new SentenceKeys("title", "body"), task.SentenceKeys);
        Assert.Equal("stars", task.LabelKey);
        Assert.Equal([Metric.Accuracy, Metric.F1, Metric.MatthewsCorrelation], task.Metrics);
        Assert.Equal(Metric.MatthewsCorrelation, task.HeadlineMetric);
        Assert.Equal(["validation"], task.EvaluationSplits);
        Assert.False(task.IsRegression);

        var csv = _files.Write("reviews.csv", "body,stars,title\nGreat phone,good,Nice\nBroke at once,0,Meh\n");
        Assert.Equal([new TextExample("Nice", "Great phone", 1), new TextExample("Meh", "Broke at once", 0)], CsvExampleReader.Read(task, csv));

        var jsonl = _files.Write("reviews.jsonl", "{\"title\":\"Nice\",\"body\":\"Great phone\",\"stars\":1}\n");
        Assert.Equal([new TextExample("Nice", "Great phone", 1)], JsonlExampleReader.Read(task, jsonl));
    }

    /// <summary>
    /// A label cell is a class name first, as datasets' ClassLabel reads a string: with names that are numbers (star
    /// ratings "1".."5", sentiment140's "0" and "4") the cell "4" is the class named "4". An index would then be
    /// ambiguous, so a cell no such name matches is refused rather than read as one.
    /// </summary>
    [Fact]
    public void NumericLabelNames_AreReadAsNamesOnly()
    {
        var task = CustomTaskReader.Read(_files.Write("sentiment.json",
            """{"name":"s","text_columns":["t"],"label_column":"y","label_names":["0","4"],"metrics":["accuracy"]}"""));
        var csv = _files.Write("sentiment.csv", "t,y\nsad,0\nhappy,4\nfine, 4\n");
        Assert.Equal([0f, 1f, 1f], CsvExampleReader.Read(task, csv).Select(e => e.Label));

        var indexed = _files.Write("indexed.csv", "t,y\nsad,0\nhappy,1\n");
        var error = Assert.Throws<InvalidDataException>(() => CsvExampleReader.Read(task, indexed));
        Assert.Contains("indexed.csv:3: label '1' is not one of 0, 4 (the label names are numbers", error.Message);
    }

    [Fact]
    public void RegressionTask_DefaultsHeadlineToTheFirstMetric()
    {
        var task = CustomTaskReader.Read(_files.Write("sim.json",
            """{"name":"sim","text_columns":["a","b"],"label_column":"score","regression":true,"metrics":["spearman","pearson"]}"""));

        Assert.True(task.IsRegression);
        Assert.Empty(task.LabelNames);
        Assert.Equal(Metric.Spearman, task.HeadlineMetric);
    }

    [Theory]
    [InlineData("""{"name":"x","text_columns":["a"],"label_column":"y","label_names":["n","p"],"metrics":["bleu"]}""", "unknown metric 'bleu'")]
    [InlineData("""{"name":"x","text_columns":["a"],"label_column":"y","metrics":["accuracy"]}""", "needs label_names")]
    [InlineData("""{"name":"x","text_columns":["a"],"label_column":"y","regression":true,"label_names":["n"],"metrics":["pearson"]}""", "no label_names")]
    [InlineData("""{"name":"x","text_columns":["a","b","c"],"label_column":"y","label_names":["n","p"],"metrics":["accuracy"]}""", "3 columns")]
    [InlineData("""{"name":"x","text_columns":["a"],"label_column":"y","regression":true,"metrics":["accuracy"]}""", "does not apply")]
    [InlineData("""{"name":"x","text_columns":["a"],"label_column":"y","label_names":["n","p"],"metrics":["accuracy"],"headline":"f1"}""", "not among metrics")]
    [InlineData("""{"name":"x","text_columns":["a"],"label_column":"y","label_names":["n","p","q"],"metrics":["accuracy","f1"]}""", "f1 is binary")]
    [InlineData("""{"name":"x","text_columns":["a"],"label_column":"y","label_names":["n","p"],"metrics":["mcc","matthews_correlation"]}""", "metrics lists one metric more than once (mcc, matthews_correlation)")]
    [InlineData("""{"name":"x","text_columns":["a"],"label_column":"y","label_names":["n","p"],"multi_label":true,"metrics":["accuracy"]}""", "metric accuracy does not apply to a multi-label task (micro_f1, macro_f1 and exact_match do)")]
    [InlineData("""{"name":"x","text_columns":["a"],"label_column":"y","label_names":["n","p"],"metrics":["micro_f1"]}""", "metric micro_f1 does not apply to a classification task")]
    [InlineData("""{"name":"x","text_columns":["a"],"label_column":"y","regression":true,"multi_label":true,"label_names":["n"],"metrics":["pearson"]}""", "multi_label or regression, not both")]
    [InlineData("""{"name":"x","text_columns":["a"],"label_column":"y","multi_label":true,"metrics":["micro_f1"]}""", "a multi-label task needs label_names")]
    public void InvalidDescriptions_NameTheFileAndTheProblem(string json, string expected)
    {
        var path = _files.Write("task.json", json);
        var error = Assert.Throws<InvalidDataException>(() => CustomTaskReader.Read(path));
        Assert.Contains(path, error.Message);
        Assert.Contains(expected, error.Message);
    }

    [Fact]
    public void MalformedJson_NamesTheLine()
    {
        var path = _files.Write("task.json", "{\n  \"name\": \"x\",\n  \"text_columns\": [\"a\"],\n  \"colour\": 1\n}");
        var error = Assert.Throws<InvalidDataException>(() => CustomTaskReader.Read(path));
        Assert.Contains($"{path}:4:", error.Message);

        var missingRequired = _files.Write("short.json", """{"name":"x","text_columns":["a"]}""");
        Assert.Contains(missingRequired, Assert.Throws<InvalidDataException>(() => CustomTaskReader.Read(missingRequired)).Message);
    }

    /// <summary>
    /// A multi-label task reads each row's label as a JSON array of names or ids (empty: no label applies); a label
    /// named twice, a plain label, or a CSV file is refused naming the file.
    /// </summary>
    [Fact]
    public void MultiLabelTask_ReadsArraysOfLabels()
    {
        var task = CustomTaskReader.Read(_files.Write("tags.json",
            """{"name":"tags","text_columns":["t"],"label_column":"y","label_names":["a","b","c"],"multi_label":true,"metrics":["micro_f1","exact_match"]}"""));
        Assert.True(task.IsMultiLabel);
        Assert.Equal(Metric.MicroF1, task.HeadlineMetric);
        var jsonl = _files.Write("tags.jsonl", "{\"t\":\"x\",\"y\":[\"c\",0]}\n{\"t\":\"z\",\"y\":[]}\n");
        var rows = JsonlExampleReader.Read(task, jsonl);
        Assert.Equal([new TextExample("x", null, 0, [2, 0]), new TextExample("z", null, 0, [])], rows);

        foreach (var (line, problem) in new[] { ("{\"t\":\"x\",\"y\":[\"a\",\"a\"]}", "names one label twice"), ("{\"t\":\"x\",\"y\":\"a\"}", "an array of the label names (or ids) that apply is needed"), ("{\"t\":\"x\",\"y\":[\"d\"]}", "label 'd'"), ("{\"t\":\"x\",\"y\":[1,0,1]}", "one 0/1 per label as eft train reads rows") })
        {
            var bad = _files.Write("bad.jsonl", line + "\n");
            var error = Assert.Throws<InvalidDataException>(() => JsonlExampleReader.Read(task, bad));
            Assert.Contains("bad.jsonl:1", error.Message);
            Assert.Contains(problem, error.Message);
        }
        Assert.Contains("multi-label", Assert.Throws<InvalidDataException>(() => CsvExampleReader.Read(task, _files.Write("tags.csv", "t,y\nx,a\n"))).Message);
    }
}
