using System.Text.Json;
using EfficientFT.Models.Configs;

namespace EfficientFT.Models.Data;

/// <summary>
/// Pre-tokenized rows, one JSON object per line: "input_ids", optional "attention_mask" (default all 1), and either
/// "label" (a class index, a number for regression, or for multi-label classification an array of one 0/1 or
/// probability per class) or "labels" (one target per token, −100 ignored). Rows of
/// different lengths are right-padded with the pad id and masked out, as a Hugging Face collator would.
/// </summary>
public static class JsonlBatchReader
{
    /// <summary>The label that keeps a row or token out of the loss, as Hugging Face's cross-entropy ignores it.</summary>
    private const int IgnoredLabel = -100;

    /// <summary>
    /// Rows for <paramref name="config"/>'s model, each checked at its line against the model: token ids inside its
    /// vocabulary, no more tokens than its positions allow, class labels inside its head. Otherwise a bad row would
    /// surface only when training reached it, as a cross-entropy or embedding error that names neither file nor line.
    /// </summary>
    /// <remarks>
    /// A language model reads "labels"; a row's "label" beside them (a field of the dataset the rows came from) is
    /// left unread rather than checked as a class the model has no head for.
    /// </remarks>
    public static ModelBatch Read(string path, ModelConfig config) =>
        Read(path, config.PaddingIndex, SequenceClassification.IsRegression(config), config.VocabSize, config.NumLabels, config.MaxTokens,
            config.ProblemType switch
            {
                ProblemType.MultiLabelClassification => true,
                ProblemType.SingleLabelClassification => false,
                _ => null,
            }, labelBesideTokenLabels: Pretrained.IsSequenceClassifier(config), positionsSkipPadding: config is RobertaConfig);

    /// <param name="vocabSize">When given, every input id and token label (other than −100) must be below it.</param>
    /// <param name="numLabels">When given and not <paramref name="regression"/>, every class label must be below it.</param>
    /// <param name="maxTokens">When given, no row may hold more tokens (ids other than the pad id).</param>
    /// <param name="multiLabel">
    /// True when the model's problem_type is multi-label (every "label" an array), false when it is single-label (every
    /// "label" a class index); null lets the rows say, as transformers picks the loss by the labels' type.
    /// </param>
    /// <param name="labelBesideTokenLabels">Whether a row's "label" is read when it also has "labels".</param>
    /// <param name="positionsSkipPadding">Whether the model numbers only the tokens other than the pad id (RoBERTa).</param>
    public static ModelBatch Read(string path, int padTokenId, bool regression, int? vocabSize = null, int? numLabels = null, int? maxTokens = null,
        bool? multiLabel = null, bool labelBesideTokenLabels = true, bool positionsSkipPadding = false)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: no such file.", path);
        var rows = new List<Row>();
        var lineNumber = 0;
        foreach (var line in File.ReadLines(path))
        {
            lineNumber++;
            if (string.IsNullOrWhiteSpace(line)) continue;
            try
            {
                var row = ParseRow(line, lineNumber, regression, vocabSize, labelBesideTokenLabels);
                if (maxTokens is { } most && PositionsTaken(row, padTokenId, positionsSkipPadding) is var tokens && tokens > most)
                    throw new InvalidDataException($"the row has {tokens} tokens, more than the model takes ({most})");
                rows.Add(row);
            }
            catch (Exception e) when (e is JsonException or InvalidDataException or FormatException or InvalidOperationException)
            {
                throw new InvalidDataException($"{path}:{lineNumber}: {e.Message}", e);
            }
        }
        if (rows.Count == 0) throw new InvalidDataException($"{path}: no rows.");
        // A file with some rows labelled is a mistake, not an unlabelled file: dropping every label would train on
        // nothing or print logits with no loss, and exit 0 either way.
        RequireAllOrNone(path, rows, r => r.Label != null || r.MultiHot != null, "\"label\"");
        RequireLabelsTheModelReads(path, rows, regression, numLabels, multiLabel);
        RequireAllOrNone(path, rows, r => r.TokenLabels != null, "\"labels\"");

        var length = rows.Max(r => r.Ids.Length);
        var batch = rows.Count;
        var inputIds = Enumerable.Repeat(padTokenId, batch * length).ToArray();
        var attention = new int[batch * length];
        var tokenLabels = rows[0].TokenLabels != null ? Enumerable.Repeat(IgnoredLabel, batch * length).ToArray() : null;
        for (var r = 0; r < batch; r++)
        {
            rows[r].Ids.CopyTo(inputIds, r * length);
            rows[r].Mask.CopyTo(attention, r * length);
            rows[r].TokenLabels?.CopyTo(tokenLabels!, r * length);
        }
        var result = new ModelBatch(batch, length, inputIds, attention) { TokenLabels = tokenLabels };
        if (rows[0].MultiHot != null) return result with { MultiHotLabels = rows.SelectMany(r => r.MultiHot!).ToArray() };
        if (rows[0].Label == null) return result;
        return regression
            ? result with { RegressionLabels = rows.Select(r => (float)r.Label!.Value).ToArray() }
            : result with { ClassLabels = rows.Select(r => (int)r.Label!.Value).ToArray() };
    }

    /// <summary>
    /// What the rows' "label"s ask of a sequence classifier, before there is one to read them against: whether any row
    /// has one, how many classes they need (the largest index + 1, or a multi-label row's entries), or null classes
    /// when some label is a number with a fraction, which only regression reads; and whether any row has per-token
    /// "labels". Lines that do not parse, and labels of no such kind (an empty array), are left to
    /// <see cref="Read(string, ModelConfig)"/> to report.
    /// </summary>
    public static RowLabels LabelsOf(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: no such file.", path);
        var (labelled, wholeNumbers, largest, tokenLabelled) = (false, true, -1, false);
        int? multiHot = null;
        foreach (var line in File.ReadLines(path))
        {
            if (string.IsNullOrWhiteSpace(line)) continue;
            try
            {
                using var doc = JsonDocument.Parse(line);
                if (doc.RootElement.ValueKind != JsonValueKind.Object) continue;
                tokenLabelled |= doc.RootElement.TryGetProperty("labels", out _);
                if (!doc.RootElement.TryGetProperty("label", out var label)) continue;
                labelled = true;
                if (label.ValueKind == JsonValueKind.Array && label.GetArrayLength() > 0) multiHot ??= label.GetArrayLength();
                if (label.ValueKind != JsonValueKind.Number) continue;
                if (label.TryGetInt32(out var index)) largest = Math.Max(largest, index);
                else wholeNumbers = false;
            }
            catch (JsonException)
            {
                // Read names the line and the problem; here it only would not count.
            }
        }
        return multiHot is { } width ? new RowLabels(true, width, MultiHot: true, tokenLabelled)
            : new RowLabels(labelled, labelled && wholeNumbers ? largest + 1 : null, MultiHot: false, tokenLabelled);
    }

    /// <param name="Labelled">Whether any row has a "label".</param>
    /// <param name="Classes">The classes the labels need; null when they regress.</param>
    /// <param name="MultiHot">Whether the labels are arrays, one entry per class (multi-label classification).</param>
    /// <param name="TokenLabelled">Whether any row has per-token "labels", which a language model reads.</param>
    public readonly record struct RowLabels(bool Labelled, int? Classes, bool MultiHot, bool TokenLabelled = false);

    /// <param name="Label">The class index or regression target; null where the row has none or has <paramref name="MultiHot"/>.</param>
    /// <param name="MultiHot">A multi-label row's class probabilities.</param>
    private sealed record Row(int Line, int[] Ids, int[] Mask, double? Label, float[]? MultiHot, int[]? TokenLabels);

    private static Row ParseRow(string line, int lineNumber, bool regression, int? vocabSize, bool labelBesideTokenLabels)
    {
        using var doc = JsonDocument.Parse(line);
        var root = doc.RootElement;
        if (root.ValueKind != JsonValueKind.Object) throw new InvalidDataException("the line is not a JSON object");
        if (!root.TryGetProperty("input_ids", out var idsElement)) throw new InvalidDataException("it has no \"input_ids\"");
        var ids = IntArray(idsElement, "input_ids");
        if (vocabSize is { } vocab && Array.FindIndex(ids, id => id < 0 || id >= vocab) is var bad and >= 0)
            throw new InvalidDataException($"\"input_ids\" holds {ids[bad]}, outside the model's vocabulary of {vocab}");
        var mask = root.TryGetProperty("attention_mask", out var m) ? IntArray(m, "attention_mask") : Enumerable.Repeat(1, ids.Length).ToArray();
        if (mask.Length != ids.Length)
            throw new InvalidDataException($"attention_mask has {mask.Length} entries for {ids.Length} input_ids");
        int[]? tokenLabels = root.TryGetProperty("labels", out var l) ? IntArray(l, "labels") : null;
        if (tokenLabels != null && tokenLabels.Length != ids.Length)
            throw new InvalidDataException($"labels has {tokenLabels.Length} entries for {ids.Length} input_ids");
        if (tokenLabels != null && vocabSize is { } v && Array.FindIndex(tokenLabels, t => t != IgnoredLabel && (t < 0 || t >= v)) is var badLabel and >= 0)
            throw new InvalidDataException($"\"labels\" holds {tokenLabels[badLabel]}, neither −100 nor inside the model's vocabulary of {v}");
        if (!root.TryGetProperty("label", out var lab) || (tokenLabels != null && !labelBesideTokenLabels))
            return new Row(lineNumber, ids, mask, null, null, tokenLabels);
        if (lab.ValueKind == JsonValueKind.Array)
            return regression ? throw new InvalidDataException("\"label\" is an array, but this model regresses (one number is needed)")
                : new Row(lineNumber, ids, mask, null, MultiHot(lab), tokenLabels);
        return new Row(lineNumber, ids, mask, regression ? RegressionTarget(lab) : ClassIndex(lab), null, tokenLabels);
    }

    /// <summary>
    /// One probability per class, as transformers' BCEWithLogitsLoss reads float labels. A list of class indices
    /// ([2, 7], as some datasets store multi-label rows) would otherwise train as probabilities outside [0, 1].
    /// </summary>
    private static float[] MultiHot(JsonElement e)
    {
        var values = e.EnumerateArray().Select(x => x.ValueKind == JsonValueKind.Number && x.TryGetSingle(out var v) && v is >= 0 and <= 1
            ? v
            : throw new InvalidDataException($"\"label\" holds {x.GetRawText()}, not a probability from 0 to 1: a multi-label row is one 0/1 (or probability) per class, not a list of class indices")).ToArray();
        return values.Length > 0 ? values : throw new InvalidDataException("\"label\" is an empty array; a multi-label row has one entry per class");
    }

    private static double RegressionTarget(JsonElement e) =>
        e.ValueKind == JsonValueKind.Number && e.TryGetSingle(out var v) && float.IsFinite(v)
            ? v
            : throw new InvalidDataException($"\"label\" is {e.GetRawText()}, but this model regresses (a finite number is needed)");

    /// <summary>A class index, or −100, which cross-entropy ignores as Hugging Face's does (a row kept out of the loss).</summary>
    private static double ClassIndex(JsonElement e) =>
        e.ValueKind == JsonValueKind.Number && e.TryGetInt32(out var v)
            ? v
            : throw new InvalidDataException($"\"label\" is {e.GetRawText()}, but this model classifies (an integer class index is needed)");

    /// <summary>
    /// Every row's "label" of one kind, and of the kind and size the model reads, checked once all rows are read so
    /// that a file mixing kinds is told so rather than that the model wants the other kind.
    /// </summary>
    private static void RequireLabelsTheModelReads(string path, List<Row> rows, bool regression, int? numLabels, bool? multiLabel)
    {
        var first = rows[0];
        if (first.Label == null && first.MultiHot == null) return;
        if (rows.FirstOrDefault(r => (r.MultiHot != null) != (first.MultiHot != null)) is { } mixed)
            throw new InvalidDataException($"{path}:{mixed.Line}: \"label\" is {(mixed.MultiHot != null ? "an array" : "a number")}, but on line {first.Line} it is {(first.MultiHot != null ? "an array" : "a number")}; label every row one way.");
        if (first.MultiHot != null)
        {
            if (rows.FirstOrDefault(r => r.MultiHot!.Length != first.MultiHot.Length) is { } other)
                throw new InvalidDataException($"{path}:{other.Line}: \"label\" has {other.MultiHot!.Length} entries, but on line {first.Line} it has {first.MultiHot.Length}; a multi-label row has one entry per class.");
            if (multiLabel == false)
                throw new InvalidDataException($"{path}:{first.Line}: \"label\" is an array, but the model's problem_type is single_label_classification (one class index is needed; a config with problem_type \"multi_label_classification\" reads arrays)");
            if (numLabels is { } n && first.MultiHot.Length != n)
                throw new InvalidDataException($"{path}:{first.Line}: \"label\" has {first.MultiHot.Length} entries, but the model has {n} classes (one entry per class is needed)");
            return;
        }
        if (multiLabel == true)
            throw new InvalidDataException($"{path}:{first.Line}: \"label\" is a number, but the model's problem_type is multi_label_classification (an array of one 0/1 or probability per class is needed)");
        if (!regression && numLabels is { } classes && rows.FirstOrDefault(r => r.Label is var v && v != IgnoredLabel && (v < 0 || v >= classes)) is { } outside)
            throw new InvalidDataException($"{path}:{outside.Line}: \"label\" is {outside.Label}, outside the model's {classes} classes (0 to {classes - 1}, or {IgnoredLabel} to leave the row out of the loss)");
    }

    /// <summary>
    /// The positions a row takes: RoBERTa numbers the tokens other than the pad id; a LLaMA every position up to its
    /// last attended token, as the trimmed batches train it, pads that are real tokens (an end-of-sequence used as pad)
    /// included.
    /// </summary>
    private static int PositionsTaken(Row row, int padTokenId, bool skipPadding) =>
        skipPadding ? row.Ids.Count(id => id != padTokenId) : row.Mask.AsSpan().LastIndexOfAnyExcept(0) + 1;

    private static void RequireAllOrNone(string path, List<Row> rows, Func<Row, bool> has, string field)
    {
        var with = rows.Count(has);
        if (with == 0 || with == rows.Count) return;
        var first = rows.First(r => !has(r));
        throw new InvalidDataException($"{path}:{first.Line}: the row has no {field}, though {with} of the {rows.Count} rows have one; label every row or none.");
    }

    private static int[] IntArray(JsonElement e, string name)
    {
        if (e.ValueKind != JsonValueKind.Array) throw new InvalidDataException($"\"{name}\" is not an array");
        return e.EnumerateArray().Select(x => x.ValueKind == JsonValueKind.Number && x.TryGetInt32(out var v) ? v : throw new InvalidDataException($"\"{name}\" holds {x.GetRawText()}, not an integer")).ToArray();
    }
}
