using System.Text.Json;

namespace EfficientFT.Models.Data;

/// <summary>
/// Pre-tokenized rows, one JSON object per line: "input_ids", optional "attention_mask" (default all 1), and either
/// "label" (a class index, or a number for regression) or "labels" (one target per token, −100 ignored). Rows of
/// different lengths are right-padded with the pad id and masked out, as a Hugging Face collator would.
/// </summary>
public static class JsonlBatchReader
{
    public static ModelBatch Read(string path, int padTokenId, bool regression)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: no such file.", path);
        var rows = new List<(int[] Ids, int[] Mask, JsonElement? Label, int[]? Labels)>();
        var lineNumber = 0;
        foreach (var line in File.ReadLines(path))
        {
            lineNumber++;
            if (string.IsNullOrWhiteSpace(line)) continue;
            try
            {
                using var doc = JsonDocument.Parse(line);
                var root = doc.RootElement;
                if (root.ValueKind != JsonValueKind.Object) throw new InvalidDataException("the line is not a JSON object");
                if (!root.TryGetProperty("input_ids", out var idsElement)) throw new InvalidDataException("it has no \"input_ids\"");
                var ids = IntArray(idsElement, "input_ids");
                var mask = root.TryGetProperty("attention_mask", out var m) ? IntArray(m, "attention_mask") : Enumerable.Repeat(1, ids.Length).ToArray();
                if (mask.Length != ids.Length)
                    throw new InvalidDataException($"attention_mask has {mask.Length} entries for {ids.Length} input_ids");
                int[]? tokenLabels = root.TryGetProperty("labels", out var l) ? IntArray(l, "labels") : null;
                if (tokenLabels != null && tokenLabels.Length != ids.Length)
                    throw new InvalidDataException($"labels has {tokenLabels.Length} entries for {ids.Length} input_ids");
                JsonElement? label = root.TryGetProperty("label", out var lab) ? lab.Clone() : null;
                rows.Add((ids, mask, label, tokenLabels));
            }
            catch (Exception e) when (e is JsonException or InvalidDataException or FormatException or InvalidOperationException)
            {
                throw new InvalidDataException($"{path}:{lineNumber}: {e.Message}", e);
            }
        }
        if (rows.Count == 0) throw new InvalidDataException($"{path}: no rows.");

        var length = rows.Max(r => r.Ids.Length);
        var batch = rows.Count;
        var inputIds = Enumerable.Repeat(padTokenId, batch * length).ToArray();
        var attention = new int[batch * length];
        var hasTokenLabels = rows.All(r => r.Labels != null);
        var hasLabel = rows.All(r => r.Label != null);
        var tokenLabelsAll = hasTokenLabels ? Enumerable.Repeat(-100, batch * length).ToArray() : null;
        for (var r = 0; r < batch; r++)
        {
            rows[r].Ids.CopyTo(inputIds, r * length);
            rows[r].Mask.CopyTo(attention, r * length);
            rows[r].Labels?.CopyTo(tokenLabelsAll!, r * length);
        }
        var result = new ModelBatch(batch, length, inputIds, attention) { TokenLabels = tokenLabelsAll };
        if (!hasLabel) return result;
        return regression
            ? result with { RegressionLabels = rows.Select(r => r.Label!.Value.GetSingle()).ToArray() }
            : result with { ClassLabels = rows.Select((r, i) => ClassLabel(r.Label!.Value, path, i)).ToArray() };
    }

    private static int ClassLabel(JsonElement e, string path, int row) =>
        e.ValueKind == JsonValueKind.Number && e.TryGetInt32(out var v)
            ? v
            : throw new InvalidDataException($"{path}: row {row + 1} has label {e.GetRawText()}, but this model classifies (an integer class index is needed).");

    private static int[] IntArray(JsonElement e, string name)
    {
        if (e.ValueKind != JsonValueKind.Array) throw new InvalidDataException($"\"{name}\" is not an array");
        return e.EnumerateArray().Select(x => x.TryGetInt32(out var v) ? v : throw new InvalidDataException($"\"{name}\" holds {x.GetRawText()}, not an integer")).ToArray();
    }
}
