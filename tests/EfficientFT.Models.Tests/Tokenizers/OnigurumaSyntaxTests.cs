using EfficientFT.Models.Tokenizers;

namespace EfficientFT.Models.Tests.Tokenizers;

/// <summary>
/// tokenizer.json regexes run with Oniguruma's meaning (its RE document and make_unicode_property_data.py), not with
/// .NET's reading of the same text.
/// </summary>
public sealed class OnigurumaSyntaxTests
{
    private static string[] Matches(string pattern, string text)
    {
        var spans = new List<(int Start, int End)>();
        CodePointRegex.Get(pattern).Matches(text, spans);
        return spans.Select(s => text[s.Start..s.End]).ToArray();
    }

    /// <summary>
    /// Oniguruma's \w is Alphabetic | Mark | Decimal_Number | Connector_Punctuation: Devanagari's spacing vowel signs
    /// (ै U+0948, ी U+0940, category Mc) and letter numbers (Ⅻ, Nl) are word characters, ² (No) is not.
    /// </summary>
    [Fact]
    public void Word_IsOnigurumasWord()
    {
        Assert.Equal(["मैं", "ठीक", "हूँ"], Matches(@"\w+", "मैं ठीक हूँ"));
        Assert.Equal(["abcⅫ_9", "Ⓐb"], Matches(@"\w+", "abcⅫ_9² Ⓐb"));
        Assert.Equal(["²", " "], Matches(@"\W", "abcⅫ_9² Ⓐb"));
    }

    /// <summary>
    /// A class nested in a class is their union in Oniguruma: BLOOM's pre-tokenizer pattern keeps runs of anything but
    /// whitespace, '(', '|', ')' and its punctuation, each with the space before it.
    /// </summary>
    [Fact]
    public void NestedClasses_AreUnited()
    {
        const string bloom = @" ?[^(\s|[.,!?…。，、।۔،])]+";
        Assert.Equal(["Hi", " you", "there", "x"], Matches(bloom, "Hi, you (there)|x"));
        Assert.Equal(["ab", "c]"], Matches(@"[a[b]]+|[]c]+", "abc]"));
    }

    /// <summary>
    /// Ruby syntax, Oniguruma's default: ^ and $ anchor at each line, the m option lets . match a newline, {,n} is
    /// {0,n}, and \b is a boundary of Oniguruma's word characters (क and the spacing vowel sign ी make one word).
    /// </summary>
    [Fact]
    public void RubySyntax_KeepsItsMeaning()
    {
        Assert.Equal(["ab", "cd"], Matches(@"^\w+", "ab\ncd"));
        Assert.Equal(["b", "d"], Matches(@"\w$", "ab\ncd"));
        Assert.Equal(["a\nb"], Matches(@"(?m)a.b", "a\nb"));
        Assert.Equal(["a\nb"], Matches(@"(?m:a.b)", "a\nb"));
        Assert.Equal(["baa"], Matches(@"ba{,2}", "baaa"));
        Assert.Equal(["ी", "x"], Matches(@"\w\b", "की x"));
        Assert.Equal(["क"], Matches(@"\w\B", "की x"));
        Assert.Equal(["a\bb"], Matches(@"a[\b]b", "a\bb"));
    }

    [Theory]
    [InlineData(@"[[:alpha:]]+", "POSIX bracket")]
    [InlineData(@"[a-z&&[^aeiou]]+", "intersection")]
    [InlineData(@"[a[^b]]", "negated character class inside")]
    [InlineData(@"[^\W]", @"\W inside a character class")]
    public void ConstructsWithoutADotNetSpelling_AreRefused(string pattern, string problem) =>
        Assert.Contains(problem, Assert.Throws<ArgumentException>(() => CodePointRegex.Get(pattern)).Message);

    /// <summary>tokenizers' Whitespace pre-tokenizer is \w+|[^\w\s]+ in Oniguruma, so it keeps the same words.</summary>
    [Fact]
    public void WhitespacePreTokenizer_KeepsOnigurumasWords()
    {
        var pieces = new List<Piece>();
        new WhitespacePreTokenizer().PreTokenize(new Piece("मैं ठीक, Ⅻ²!", true), pieces);
        Assert.Equal(["मैं", "ठीक", ",", "Ⅻ", "²!"], pieces.Select(p => p.Text));
    }
}
