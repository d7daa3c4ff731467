namespace EfficientFT.Training.Data;

/// <summary>
/// Reads the original GLUE train and dev TSVs (not the unlabeled test files). Cells are split on tabs with no quoting,
/// as the GLUE processors read them: the sentences contain unbalanced quotes that a quoting reader would run together.
/// </summary>
public static class GlueTsvReader
{
    public static IReadOnlyList<TextExample> Read(GlueTask task, string path)
    {
        var layout = GlueTsvLayout.For(task);
        var examples = new List<TextExample>();
        IReadOnlyList<string>? header = layout.ImpliedHeader;
        int first = -1, second = -1, label = -1;
        if (header is not null)
        {
            (first, second, label) = HeaderColumns.Locate(header, layout.First, layout.Second, layout.Label, path, 0);
        }

        long line = 0;
        foreach (var text in File.ReadLines(path))
        {
            line++;
            if (text.Length == 0)
            {
                continue;
            }

            var cells = text.Split('\t');
            if (header is null)
            {
                header = cells;
                (first, second, label) = HeaderColumns.Locate(header, layout.First, layout.Second, layout.Label, path, line);
                continue;
            }

            if (cells.Length != header.Count)
            {
                throw DataErrors.At(path, line, $"{cells.Length} columns where the {(layout.ImpliedHeader is null ? "header has" : "layout has")} {header.Count}.");
            }

            examples.Add(new TextExample(
                cells[first],
                second < 0 ? null : cells[second],
                LabelParser.Parse(task, cells[label], path, line)));
        }

        return examples;
    }
}
