using System.Text.Json;

namespace EfficientFT.Training.Data;

/// <summary>
/// Reads JSON Lines as Hugging Face datasets' to_json writes them: one object per line with the task's sentence keys
/// and an int label or a label name (a float score for regression). Rows labelled -1 are the unlabeled test split and are
/// skipped; for regression, where -1 can be a score (a polarity in [-1, 1]), only a file whose every score is -1 is
/// read as unlabeled.
/// </summary>
public static class JsonlExampleReader
{
    private const int Unlabeled = -1;

    public static IReadOnlyList<TextExample> Read(GlueTask task, string path)
    {
        var examples = new List<TextExample>();
        var unlabeledScores = 0;
        long line = 0;
        foreach (var text in File.ReadLines(path))
        {
            line++;
            if (string.IsNullOrWhiteSpace(text))
            {
                continue;
            }

            JsonDocument document;
            try
            {
                document = JsonDocument.Parse(text);
            }
            catch (JsonException e)
            {
                throw DataErrors.At(path, line, $"not a JSON object: {e.Message}");
            }

            using (document)
            {
                var row = document.RootElement;
                if (row.ValueKind != JsonValueKind.Object)
                {
                    throw DataErrors.At(path, line, "not a JSON object.");
                }

                var cell = Property(row, task.LabelKey, path, line);
                var labels = task.IsMultiLabel ? Labels(task, cell, path, line) : null;
                var label = task.IsMultiLabel ? 0 : Label(task, cell, path, line);
                if (task.IsRegression && label == Unlabeled)
                {
                    unlabeledScores++;
                }

                if (label is { } value)
                {
                    examples.Add(new TextExample(
                        Text(row, task.SentenceKeys.First, path, line),
                        task.SentenceKeys.Second is { } second ? Text(row, second, path, line) : null,
                        value, labels));
                }
            }
        }

        return unlabeledScores == examples.Count ? [] : examples;
    }

    private static JsonElement Property(JsonElement row, string key, string path, long line) =>
        row.TryGetProperty(key, out var value) ? value : throw DataErrors.At(path, line, $"no key '{key}'.");

    private static string Text(JsonElement row, string key, string path, long line)
    {
        var value = Property(row, key, path, line);
        return value.ValueKind == JsonValueKind.String
            ? value.GetString()!
            : throw DataErrors.At(path, line, $"'{key}' is {value.ValueKind}, not a string.");
    }

    /// <summary>
    /// A multi-label row's labels: an array of names or ids, each once; an empty array is a row no label applies to.
    /// An array of one 0/1 per label, as eft train's rows hold them, would read as ids ([1, 0] as both labels), so such
    /// an array of numbers is refused: names leave no doubt.
    /// </summary>
    private static int[] Labels(GlueTask task, JsonElement value, string path, long line)
    {
        if (value.ValueKind != JsonValueKind.Array)
        {
            throw DataErrors.At(path, line, $"'{task.LabelKey}' is {value.ValueKind}, but task {task.Name} is multi-label: an array of the label names (or ids) that apply is needed.");
        }

        if (value.GetArrayLength() == task.LabelCount && value.EnumerateArray().All(e => e.ValueKind == JsonValueKind.Number && e.TryGetInt32(out var bit) && bit is 0 or 1))
        {
            throw DataErrors.At(path, line, $"'{task.LabelKey}' is {value.GetRawText()}, one 0/1 per label as eft train reads rows, or label ids? A bench task lists the labels that apply; write their names.");
        }

        var ids = value.EnumerateArray().Select(e => e.ValueKind switch
        {
            JsonValueKind.String => (int)LabelParser.Parse(task, e.GetString()!, path, line),
            JsonValueKind.Number when e.TryGetInt32(out var id) => (int)LabelParser.ClassId(task, id, path, line),
            _ => throw DataErrors.At(path, line, $"'{task.LabelKey}' holds {e.GetRawText()}, neither a label name nor a label id."),
        }).ToArray();
        return ids.Distinct().Count() == ids.Length
            ? ids
            : throw DataErrors.At(path, line, $"'{task.LabelKey}' names one label twice ({value.GetRawText()}).");
    }

    private static float? Label(GlueTask task, JsonElement value, string path, long line)
    {
        // A label name ("positive") reads as its class, as in the CSV reader; embedded tasks write names.
        if (value.ValueKind == JsonValueKind.String && !task.IsRegression)
        {
            return LabelParser.Parse(task, value.GetString()!, path, line);
        }

        if (value.ValueKind != JsonValueKind.Number)
        {
            throw DataErrors.At(path, line, $"label is {value.ValueKind}, not a number{(task.IsRegression ? "" : " or a label name")}.");
        }

        if (task.IsRegression)
        {
            return (float)value.GetDouble() is var score && float.IsFinite(score)
                ? score
                : throw DataErrors.At(path, line, $"label {value.GetRawText()} is not a finite number.");
        }

        if (!value.TryGetInt32(out var id))
        {
            throw DataErrors.At(path, line, $"label {value.GetRawText()} is not a class id.");
        }

        return id == Unlabeled ? null : LabelParser.ClassId(task, id, path, line);
    }
}
