using System.Buffers;
using System.Diagnostics.CodeAnalysis;

namespace EfficientFT.Models.Tokenizers;

/// <summary>
/// The added tokens and how HF finds them: tokens marked not normalized are cut out of the raw text first, each
/// remaining stretch is normalized, then normalized tokens are cut out of that. Matching is leftmost-longest, and a
/// token's single_word / lstrip / rstrip options are applied as HF's <c>AddedVocabulary::find_matches</c> does.
/// </summary>
internal sealed class AddedVocabulary
{
    private readonly Dictionary<int, AddedToken> _byId = [];
    private readonly Dictionary<string, int> _byContent = new(StringComparer.Ordinal);
    private readonly HashSet<string> _special = new(StringComparer.Ordinal);
    private readonly INormalizer? _normalizer;
    private readonly Matcher _raw;
    private readonly Matcher _normalized;

    public AddedVocabulary(IEnumerable<AddedToken> tokens, INormalizer? normalizer)
    {
        _normalizer = normalizer;
        var raw = new List<(string, AddedToken)>();
        var normalized = new List<(string, AddedToken)>();
        foreach (var token in tokens)
        {
            if (token.Content.Length == 0)
                continue;
            _byId[token.Id] = token;
            _byContent[token.Content] = token.Id;
            if (token.Special)
                _special.Add(token.Content);
            if (!token.Normalized)
                raw.Add((token.Content, token));
            else if ((normalizer?.Normalize(token.Content) ?? token.Content) is { Length: > 0 } pattern)
                normalized.Add((pattern, token));
        }
        _raw = new Matcher(raw);
        _normalized = new Matcher(normalized);
    }

    public IReadOnlyCollection<AddedToken> Tokens => _byId.Values;

    public bool TryGetId(string content, out int id) => _byContent.TryGetValue(content, out id);

    public AddedToken? ById(int id) => _byId.GetValueOrDefault(id);

    public bool IsSpecial(string token) => _special.Contains(token);

    /// <summary>Cuts <paramref name="text"/> into added tokens and normalized text; empty text segments are dropped.</summary>
    public void Split(string text, List<Segment> output)
    {
        var rawParts = new List<(int Start, int End, AddedToken? Token)>();
        FindMatches(text, _raw, rawParts);
        var normalizedParts = new List<(int Start, int End, AddedToken? Token)>();
        foreach (var (start, end, token) in rawParts)
        {
            var slice = text[start..end];
            if (token is not null)
            {
                output.Add(new Segment(slice, token.Id, start == 0));
                continue;
            }
            var normalized = _normalizer?.Normalize(slice) ?? slice;
            normalizedParts.Clear();
            FindMatches(normalized, _normalized, normalizedParts);
            foreach (var (from, to, inner) in normalizedParts)
                output.Add(new Segment(normalized[from..to], inner?.Id ?? -1, start == 0 && from == 0));
        }
    }

    private static void FindMatches(string sentence, Matcher matcher, List<(int Start, int End, AddedToken? Token)> output)
    {
        if (sentence.Length == 0)
            return;
        var textStart = 0;
        var searchFrom = 0;
        while (matcher.TryMatch(sentence, searchFrom, out var start, out var stop, out var token))
        {
            searchFrom = stop;
            if (token.SingleWord && !StandsAlone(sentence, start, stop))
                continue;
            if (token.LeftStrip)
            {
                var newStart = start;
                while (newStart > 0 && UnicodeChars.IsWhiteSpace(sentence[newStart - 1]))
                    newStart--;
                // Whitespace an earlier match already absorbed stays with it.
                start = Math.Max(newStart, textStart);
            }
            if (token.RightStrip)
            {
                while (stop < sentence.Length && UnicodeChars.IsWhiteSpace(sentence[stop]))
                    stop++;
            }
            if (textStart < start)
                output.Add((textStart, start, null));
            output.Add((start, stop, token));
            textStart = stop;
        }
        if (textStart < sentence.Length)
            output.Add((textStart, sentence.Length, null));
    }

    private static bool StandsAlone(string sentence, int start, int stop)
    {
        var wordBefore = start > 0 && UnicodeChars.IsWordChar(PreviousCodePoint(sentence, start));
        var wordAfter = stop < sentence.Length && UnicodeChars.IsWordChar(UnicodeChars.CodePointAt(sentence, stop, out _));
        return !wordBefore && !wordAfter;
    }

    private static int PreviousCodePoint(string text, int end) =>
        end >= 2 && char.IsLowSurrogate(text[end - 1]) && char.IsHighSurrogate(text[end - 2])
            ? char.ConvertToUtf32(text[end - 2], text[end - 1]) : text[end - 1];

    /// <summary>Leftmost-longest search over a handful of literal patterns.</summary>
    private sealed class Matcher
    {
        private readonly SearchValues<char> _firstChars;
        private readonly Dictionary<char, (string Pattern, AddedToken Token)[]> _byFirstChar;

        public Matcher(List<(string Pattern, AddedToken Token)> patterns)
        {
            _byFirstChar = patterns.GroupBy(p => p.Pattern[0])
                .ToDictionary(g => g.Key, g => g.OrderByDescending(p => p.Pattern.Length).ToArray());
            _firstChars = SearchValues.Create(_byFirstChar.Keys.ToArray());
        }

        public bool TryMatch(string text, int from, out int start, out int end, [NotNullWhen(true)] out AddedToken? token)
        {
            while (from < text.Length && _byFirstChar.Count > 0)
            {
                var at = text.AsSpan(from).IndexOfAny(_firstChars);
                if (at < 0)
                    break;
                start = from + at;
                foreach (var (pattern, candidate) in _byFirstChar[text[start]])
                {
                    if (text.AsSpan(start).StartsWith(pattern, StringComparison.Ordinal))
                    {
                        end = start + pattern.Length;
                        token = candidate;
                        return true;
                    }
                }
                from = start + 1;
            }
            start = end = 0;
            token = null;
            return false;
        }
    }
}
