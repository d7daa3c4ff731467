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

    /// <summary>An array "label" is a multi-label row, one probability per class, as transformers' float labels.</summary>
    [Fact]
    public void ArrayLabels_AreMultiHotRows()
    {
        using var dir = new TempDirectory();
        File.WriteAllText(dir.File("rows.jsonl"), "{\"input_ids\": [5], \"label\": [1, 0, 1]}\n{\"input_ids\": [7, 8], \"label\": [0, 0.5, 0]}\n");
        var batch = JsonlBatchReader.Read(dir.File("rows.jsonl"), padTokenId: 1, regression: false, numLabels: 3);
        Assert.Equal([1f, 0f, 1f, 0f, 0.5f, 0f], batch.MultiHotLabels!);
        Assert.Null(batch.ClassLabels);
        Assert.Equal([0f, 0.5f, 0f], batch.Select([1]).MultiHotLabels!);
        Assert.Equal([1f, 0f, 1f], batch.SelectTrimmed([0]).MultiHotLabels!);
    }

    /// <summary>Each mistake is refused at its line, with what the row needed.</summary>
    [Theory]
    [InlineData("[1, 0, 1]\n[0, 1]", false, null, 2, "has 2 entries, but on line 1 it has 3")]
    [InlineData("[1, 0]\n[0, 1]", false, 3, 1, "has 2 entries, but the model has 3 classes")]
    [InlineData("[2, 7]\n[1]", false, null, 1, "holds 2, not a probability from 0 to 1: a multi-label row is one 0/1 (or probability) per class, not a list of class indices")]
    [InlineData("[]\n[1]", false, null, 1, "is an empty array")]
    [InlineData("1\n[0, 1]", false, null, 2, "\"label\" is an array, but on line 1 it is a number")]
    [InlineData("[0, 1]\n[1, 0]", true, null, 1, "this model regresses")]
    public void BadMultiLabelRows_AreRefusedAtTheirLine(string labels, bool regression, int? numLabels, int line, string message)
    {
        using var dir = new TempDirectory();
        var path = dir.File("rows.jsonl");
        File.WriteAllLines(path, labels.Split('\n').Select(l => $"{{\"input_ids\": [5], \"label\": {l}}}"));
        var error = Assert.Throws<InvalidDataException>(() => JsonlBatchReader.Read(path, padTokenId: 1, regression, numLabels: numLabels));
        Assert.Contains($"{path}:{line}:", error.Message);
        Assert.Contains(message, error.Message);
    }

    /// <summary>A config that names its problem_type fixes the kind of label; rows of the other kind are refused.</summary>
    [Theory]
    [InlineData(true, "1", "problem_type is multi_label_classification")]
    [InlineData(false, "[1, 0]", "problem_type is single_label_classification")]
    public void TheConfigsProblemType_FixesTheLabelKind(bool multiLabel, string label, string message)
    {
        using var dir = new TempDirectory();
        var path = dir.File("rows.jsonl");
        File.WriteAllText(path, $"{{\"input_ids\": [5], \"label\": {label}}}\n");
        var error = Assert.Throws<InvalidDataException>(() => JsonlBatchReader.Read(path, padTokenId: 1, regression: false, multiLabel: multiLabel));
        Assert.Contains($"{path}:1:", error.Message);
        Assert.Contains(message, error.Message);
    }
}
