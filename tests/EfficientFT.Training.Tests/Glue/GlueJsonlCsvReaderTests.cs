using EfficientFT.Training.Data;

namespace EfficientFT.Training.Tests.Glue;

public sealed class GlueJsonlCsvReaderTests : IDisposable
{
    private readonly GlueTempFiles _files = new();

    public void Dispose() => _files.Dispose();

    [Fact]
    public void Jsonl_ReadsHuggingFaceExports_AndSkipsUnlabeledRows()
    {
        var path = _files.Write("mrpc.jsonl", """
            {"sentence1":"He said \"yes\".","sentence2":"He agreed.","label":1,"idx":0}
            {"sentence1":"A","sentence2":"B","label":0,"idx":1}

            {"sentence1":"test row","sentence2":"unlabeled","label":-1,"idx":2}
            """);

        Assert.Equal([new TextExample("He said \"yes\".", "He agreed.", 1), new TextExample("A", "B", 0)], JsonlExampleReader.Read(GlueTasks.Mrpc, path));
    }

    [Fact]
    public void Jsonl_ReadsFloatScoresForRegression()
    {
        var path = _files.Write("stsb.jsonl", """
            {"sentence1":"A plane is taking off.","sentence2":"An air plane is taking off.","label":5.0,"idx":0}
            {"sentence1":"x","sentence2":"y","label":3.8,"idx":1}
            {"sentence1":"x","sentence2":"y","label":-1.0,"idx":2}
            """);

        Assert.Equal([5.0f, 3.8f, -1f], JsonlExampleReader.Read(GlueTasks.Stsb, path).Select(e => e.Label));
    }

    /// <summary>-1 can be a score (a polarity in [-1, 1]); only a file scored -1 throughout is GLUE's unlabelled test split.</summary>
    [Fact]
    public void Jsonl_ReadsAFileScoredMinusOneThroughoutAsUnlabelled()
    {
        var path = _files.Write("stsb-test.jsonl", """
            {"sentence1":"x","sentence2":"y","label":-1.0,"idx":0}
            {"sentence1":"z","sentence2":"w","label":-1,"idx":1}
            """);

        Assert.Empty(JsonlExampleReader.Read(GlueTasks.Stsb, path));
    }

    [Fact]
    public void Jsonl_Errors_NameFileAndLine()
    {
        var outOfRange = _files.Write("sst2.jsonl", "{\"sentence\":\"ok\",\"label\":1}\n{\"sentence\":\"bad\",\"label\":2}\n");
        Assert.Contains("sst2.jsonl:2:", Assert.Throws<InvalidDataException>(() => JsonlExampleReader.Read(GlueTasks.Sst2, outOfRange)).Message);

        var missing = _files.Write("qnli.jsonl", "{\"question\":\"q\",\"label\":0}\n");
        var error = Assert.Throws<InvalidDataException>(() => JsonlExampleReader.Read(GlueTasks.Qnli, missing));
        Assert.Contains("qnli.jsonl:1:", error.Message);
        Assert.Contains("'sentence'", error.Message);

        var broken = _files.Write("cola.jsonl", "{\"sentence\":\"ok\",\"label\":1}\n{\"sentence\":\n");
        Assert.Contains("cola.jsonl:2:", Assert.Throws<InvalidDataException>(() => JsonlExampleReader.Read(GlueTasks.Cola, broken)).Message);

        // 1e39 overflows float32 to infinity, which would surface as a diverged run rather than a bad file.
        var infinite = _files.Write("stsb-big.jsonl", "{\"sentence1\":\"x\",\"sentence2\":\"y\",\"label\":1e39}\n");
        Assert.Contains("stsb-big.jsonl:1: label 1e39 is not a finite number", Assert.Throws<InvalidDataException>(() => JsonlExampleReader.Read(GlueTasks.Stsb, infinite)).Message);
    }

    [Fact]
    public void Csv_HandlesQuotedCommasQuotesAndLineBreaks()
    {
        var path = _files.Write("rte.csv",
            "idx,sentence1,sentence2,label\r\n" +
            "0,\"Paris, the capital\",\"He said \"\"hi\"\"\",entailment\r\n" +
            "1,\"two\nlines\",plain,1\r\n" +
            "2,a,b,0\r\n");

        Assert.Equal(
            [new TextExample("Paris, the capital", "He said \"hi\"", 0),
             new TextExample("two\nlines", "plain", 1),
             new TextExample("a", "b", 0)],
            CsvExampleReader.Read(GlueTasks.Rte, path));
    }

    [Fact]
    public void Csv_LineNumbersCountLineBreaksInsideQuotes()
    {
        var path = _files.Write("sst2.csv", "sentence,label\n\"one\ntwo\",1\nshort\n");
        var error = Assert.Throws<InvalidDataException>(() => CsvExampleReader.Read(GlueTasks.Sst2, path));
        Assert.Contains("sst2.csv:4:", error.Message);
        Assert.Contains("1 columns", error.Message);
    }

    [Fact]
    public void Csv_Errors_NameFileAndLine()
    {
        var missing = _files.Write("mrpc.csv", "sentence1,label\na,1\n");
        Assert.Contains("mrpc.csv:1:", Assert.Throws<InvalidDataException>(() => CsvExampleReader.Read(GlueTasks.Mrpc, missing)).Message);

        var badLabel = _files.Write("stsb.csv", "sentence1,sentence2,label\na,b,4.5\na,b,n/a\n");
        Assert.Contains("stsb.csv:3:", Assert.Throws<InvalidDataException>(() => CsvExampleReader.Read(GlueTasks.Stsb, badLabel)).Message);

        var unclosed = _files.Write("cola.csv", "sentence,label\n\"never closed,1\n");
        Assert.Contains("cola.csv:2:", Assert.Throws<InvalidDataException>(() => CsvExampleReader.Read(GlueTasks.Cola, unclosed)).Message);
    }
}
