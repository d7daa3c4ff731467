namespace EfficientFT.Models.Tokenizers;

/// <summary>Trims Unicode whitespace from either end of the text.</summary>
internal sealed class StripNormalizer(bool left, bool right) : INormalizer
{
    public string Normalize(string text)
    {
        var start = 0;
        var end = text.Length;
        while (left && start < end && UnicodeChars.IsWhiteSpace(text[start]))
            start++;
        while (right && end > start && UnicodeChars.IsWhiteSpace(text[end - 1]))
            end--;
        return start == 0 && end == text.Length ? text : text[start..end];
    }
}
