using EfficientFT.Models.Data;

namespace EfficientFT.Models.Tests.Data;

public sealed class JsonlBatchReaderTests
{
    /// <summary>−100 keeps a row out of a classifier's loss, as in Hugging Face's datasets; it is not a bad label.</summary>
    [Fact]
    public void TheIgnoredLabel_IsAcceptedBesideRealClasses()
    {
        using var dir = new TempDirectory();
        File.WriteAllText(dir.File("rows.jsonl"), "{\"input_ids\": [5, 6], \"label\": 2}\n{\"input_ids\": [7], \"label\": -100}\n");
        var batch = JsonlBatchReader.Read(dir.File("rows.jsonl"), padTokenId: 1, regression: false, vocabSize: 10, numLabels: 3);
        Assert.Equal([2, -100], batch.ClassLabels!);
        Assert.Equal([5, 6, 7, 1], batch.InputIds);
    }
}
