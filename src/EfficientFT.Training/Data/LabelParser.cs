using System.Globalization;

namespace EfficientFT.Training.Data;

/// <summary>
/// Turns a label cell into the example's float: a score for regression; for classification one of the task's label
/// names (the original GLUE files spell some labels out: entailment, not_entailment), or else a class id, unless the
/// names are numbers themselves.
/// </summary>
internal static class LabelParser
{
    public static float Parse(GlueTask task, string text, string path, long line)
    {
        if (task.IsRegression)
        {
            return float.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var score) && float.IsFinite(score)
                ? score
                : throw DataErrors.At(path, line, $"label '{text}' is not a number.");
        }

        // A name first, as datasets' ClassLabel reads a string: with names such as "1".."5" (star ratings) or "0", "4",
        // the cell "4" is the class named "4", not class 4.
        foreach (var candidate in (ReadOnlySpan<string>)[text, text.Trim()])
        {
            for (var i = 0; i < task.LabelNames.Count; i++)
            {
                if (task.LabelNames[i] == candidate)
                {
                    return i;
                }
            }
        }

        // Names that are numbers leave an index unreadable: with names "1".."5", the cell "1" is the name, so a file of
        // indices 0..4 would shift by one without a word. Only names are read then.
        var numericNames = task.LabelNames.All(n => int.TryParse(n, NumberStyles.Integer, CultureInfo.InvariantCulture, out _));
        if (!numericNames && int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var id))
        {
            return ClassId(task, id, path, line);
        }

        throw DataErrors.At(path, line, numericNames
            ? $"label '{text}' is not one of {string.Join(", ", task.LabelNames)} (the label names are numbers, so a label is read as a name, not a class index)."
            : $"label '{text}' is neither one of {string.Join(", ", task.LabelNames)} nor a class id.");
    }

    public static float ClassId(GlueTask task, int id, string path, long line) =>
        id >= 0 && id < task.LabelNames.Count
            ? id
            : throw DataErrors.At(path, line, $"class id {id} is outside 0..{task.LabelNames.Count - 1} of task {task.Name}.");
}
