namespace EfficientFT.Training.Data;

/// <summary>
/// Reads CSV (RFC 4180) whose header names the task's sentence keys and label key; other columns are ignored. Labels
/// are class ids or label names, or scores for regression.
/// </summary>
public static class CsvExampleReader
{
    public static IReadOnlyList<TextExample> Read(GlueTask task, string path)
    {
        // A cell holds one label; a separator inside it would be a convention of this reader alone.
        if (task.IsMultiLabel)
        {
            throw DataErrors.At(path, 1, $"task {task.Name} is multi-label, whose rows are read from JSONL (an array of label names per row), not CSV.");
        }

        using var reader = new StreamReader(path);
        var examples = new List<TextExample>();
        List<string>? header = null;
        int first = -1, second = -1, label = -1;
        foreach (var (line, fields) in CsvRecords.Read(reader, path))
        {
            if (header is null)
            {
                header = fields;
                (first, second, label) = HeaderColumns.Locate(header, task.SentenceKeys.First, task.SentenceKeys.Second, task.LabelKey, path, line);
                continue;
            }

            if (fields.Count != header.Count)
            {
                throw DataErrors.At(path, line, $"{fields.Count} columns where the header has {header.Count}.");
            }

            examples.Add(new TextExample(
                fields[first],
                second < 0 ? null : fields[second],
                LabelParser.Parse(task, fields[label], path, line)));
        }

        if (header is null)
        {
            throw DataErrors.At(path, 1, "empty file; expected a header.");
        }

        return examples;
    }
}
