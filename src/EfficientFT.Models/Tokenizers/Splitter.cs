namespace EfficientFT.Models.Tokenizers;

/// <summary>
/// Cuts a piece at delimiter matches following Hugging Face's <c>NormalizedString::split</c>, including its exact
/// merging rules, and drops the empty pieces it would drop.
/// </summary>
internal static class Splitter
{
    /// <summary>Splits at every code point that satisfies <paramref name="isDelimiter"/>, each a match of its own.</summary>
    public static void SplitOnCodePoints(Piece piece, Func<int, bool> isDelimiter, SplitBehavior behavior,
        List<Piece> output)
    {
        var text = piece.Text;
        var matches = new List<(int Start, int End)>();
        for (var i = 0; i < text.Length;)
        {
            var cp = UnicodeChars.CodePointAt(text, i, out var length);
            if (isDelimiter(cp))
                matches.Add((i, i + length));
            i += length;
        }
        Split(piece, matches, behavior, invert: false, output);
    }

    /// <summary>
    /// Splits at the given non-overlapping, ordered <paramref name="matches"/>. With <paramref name="invert"/> the
    /// matches are the pieces to keep and the text between them is the delimiter.
    /// </summary>
    public static void Split(Piece piece, List<(int Start, int End)> matches, SplitBehavior behavior, bool invert,
        List<Piece> output)
    {
        var text = piece.Text;
        if (matches.Count == 0 && !invert)
        {
            Add(piece, 0, text.Length, output);
            return;
        }

        // Cover the whole text with alternating (range, isDelimiter) spans, as HF's find_matches does.
        var spans = new List<(int Start, int End, bool Delimiter)>(matches.Count * 2 + 1);
        var previous = 0;
        foreach (var (start, end) in matches)
        {
            if (previous < start)
                spans.Add((previous, start, invert));
            spans.Add((start, end, !invert));
            previous = end;
        }
        if (previous < text.Length)
            spans.Add((previous, text.Length, invert));

        switch (behavior)
        {
            case SplitBehavior.Removed:
                foreach (var (start, end, delimiter) in spans)
                    if (!delimiter)
                        Add(piece, start, end, output);
                break;
            case SplitBehavior.Isolated:
                foreach (var (start, end, _) in spans)
                    Add(piece, start, end, output);
                break;
            case SplitBehavior.Contiguous:
                Emit(piece, MergeRuns(spans), output);
                break;
            case SplitBehavior.MergedWithPrevious:
                Emit(piece, MergeWithPrevious(spans), output);
                break;
            case SplitBehavior.MergedWithNext:
                Emit(piece, MergeWithNext(spans), output);
                break;
        }
    }

    private static List<(int Start, int End)> MergeRuns(List<(int Start, int End, bool Delimiter)> spans)
    {
        var merged = new List<(int Start, int End)>();
        var previousDelimiter = false;
        foreach (var (start, end, delimiter) in spans)
        {
            if (delimiter == previousDelimiter && merged.Count > 0)
                merged[^1] = (merged[^1].Start, end);
            else
                merged.Add((start, end));
            previousDelimiter = delimiter;
        }
        return merged;
    }

    private static List<(int Start, int End)> MergeWithPrevious(List<(int Start, int End, bool Delimiter)> spans)
    {
        var merged = new List<(int Start, int End)>();
        var previousDelimiter = false;
        foreach (var (start, end, delimiter) in spans)
        {
            if (delimiter && !previousDelimiter && merged.Count > 0)
                merged[^1] = (merged[^1].Start, end);
            else
                merged.Add((start, end));
            previousDelimiter = delimiter;
        }
        return merged;
    }

    private static List<(int Start, int End)> MergeWithNext(List<(int Start, int End, bool Delimiter)> spans)
    {
        var merged = new List<(int Start, int End)>();
        var previousDelimiter = false;
        for (var i = spans.Count - 1; i >= 0; i--)
        {
            var (start, end, delimiter) = spans[i];
            if (delimiter && !previousDelimiter && merged.Count > 0)
                merged[^1] = (start, merged[^1].End);
            else
                merged.Add((start, end));
            previousDelimiter = delimiter;
        }
        merged.Reverse();
        return merged;
    }

    private static void Emit(Piece piece, List<(int Start, int End)> ranges, List<Piece> output)
    {
        foreach (var (start, end) in ranges)
            Add(piece, start, end, output);
    }

    private static void Add(Piece piece, int start, int end, List<Piece> output)
    {
        if (start == end)
            return;
        var text = start == 0 && end == piece.Text.Length ? piece.Text : piece.Text[start..end];
        output.Add(new Piece(text, piece.AtTextStart && start == 0));
    }
}
