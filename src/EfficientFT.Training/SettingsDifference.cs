namespace EfficientFT.Training;

/// <summary>How a resumed run's settings differ from those its checkpoint recorded, in the words every refusal uses.</summary>
public static class SettingsDifference
{
    /// <summary>"batch_size 8 there, 16 here; lr …" for each setting that differs (one missing on a side reads "(none)"), or null.</summary>
    public static string? Describe(IReadOnlyDictionary<string, string> saved, IReadOnlyDictionary<string, string> given)
    {
        var differences = saved.Keys.Union(given.Keys).Order(StringComparer.Ordinal)
            .Where(key => saved.GetValueOrDefault(key) != given.GetValueOrDefault(key))
            .Select(key => $"{key} {saved.GetValueOrDefault(key) ?? "(none)"} there, {given.GetValueOrDefault(key) ?? "(none)"} here")
            .ToList();
        return differences.Count == 0 ? null : string.Join("; ", differences);
    }
}
