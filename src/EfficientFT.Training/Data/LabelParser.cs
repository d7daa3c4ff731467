using System.Globalization;

namespace EfficientFT.Training.Data;

/// <summary>
/// Turns a label cell into the example's float: a score for regression; for classification a class id or one of the
/// task's label names, since the original GLUE files spell some labels out (entailment, not_entailment).
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

        if (int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var id))
        {
            return ClassId(task, id, path, line);
        }

        for (var i = 0; i < task.LabelNames.Count; i++)
        {
            if (task.LabelNames[i] == text)
            {
                return i;
            }
        }

        throw DataErrors.At(path, line, $"label '{text}' is neither a class id nor one of {string.Join(", ", task.LabelNames)}.");
    }

    public static float ClassId(GlueTask task, int id, string path, long line) =>
        id >= 0 && id < task.LabelNames.Count
            ? id
            : throw DataErrors.At(path, line, $"class id {id} is outside 0..{task.LabelNames.Count - 1} of task {task.Name}.");
}
