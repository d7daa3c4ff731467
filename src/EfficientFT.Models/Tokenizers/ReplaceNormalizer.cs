using System.Text;

namespace EfficientFT.Models.Tokenizers;

/// <summary>
/// Replaces every occurrence of a literal string or every match of a regex by fixed content (no group references),
/// as HF's <c>Replace</c> normalizer and decoder do.
/// </summary>
internal sealed class ReplaceNormalizer(CodePointRegex? regex, string? literal, string content) : INormalizer
{
    public string Normalize(string text)
    {
        if (regex is null)
            return literal!.Length == 0 ? text : text.Replace(literal, content, StringComparison.Ordinal);

        var matches = new List<(int Start, int End)>();
        regex.Matches(text, matches);
        if (matches.Count == 0)
            return text;
        var builder = new StringBuilder(text.Length);
        var previous = 0;
        foreach (var (start, end) in matches)
        {
            builder.Append(text, previous, start - previous).Append(content);
            previous = end;
        }
        return builder.Append(text, previous, text.Length - previous).ToString();
    }
}
