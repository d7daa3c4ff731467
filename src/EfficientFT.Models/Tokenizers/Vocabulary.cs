namespace EfficientFT.Models.Tokenizers;

/// <summary>A token ↔ id map that can also be searched by character span, so lookups of slices allocate nothing.</summary>
internal sealed class Vocabulary
{
    /// <summary>
    /// Ids index an array, so a corrupt file with one huge id must be rejected rather than allocate gigabytes; the
    /// largest real vocabularies are a few hundred thousand tokens.
    /// </summary>
    public const int MaxId = (1 << 24) - 1;

    private readonly Dictionary<string, int> _ids;
    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _spans;
    private readonly string?[] _tokens;

    public Vocabulary(Dictionary<string, int> ids)
    {
        _ids = ids;
        _spans = ids.GetAlternateLookup<ReadOnlySpan<char>>();
        _tokens = new string?[ids.Count == 0 ? 0 : ids.Values.Max() + 1];
        foreach (var (token, id) in ids)
            _tokens[id] = token;
    }

    public int Count => _ids.Count;

    public bool TryGetId(string token, out int id) => _ids.TryGetValue(token, out id);

    public bool TryGetId(ReadOnlySpan<char> token, out int id) => _spans.TryGetValue(token, out id);

    public string? TokenOf(int id) => (uint)id < (uint)_tokens.Length ? _tokens[id] : null;
}
