using EfficientFT.Models.Tokenizers;

namespace EfficientFT.Models.Tests.Tokenizers;

/// <summary>The hand-written GPT-2 splitter must find exactly what the regex finds.</summary>
public sealed class Gpt2PatternTests
{
    // Contractions and their near misses, the three regex classes in and out of the BMP, the whitespace kinds the
    // lookahead treats differently, combining marks and a lone surrogate.
    private static readonly string[] Alphabet =
    [
        "a", "Z", "é", "s", "t", "m", "d", "re", "ve", "ll", "'", "’", "1", "٣", "½", "Ⅻ", "!", ",", "-", "€",
        " ", " ", " ", "\t", "\n", "\r\n", "\u00A0", "\u3000", "\u0085", "\u2028", "\uFEFF", "\u0301", "\u200D",
        "𝔘", "𐍈", "𝟘", "😀", "\uD800",
    ];

    [Fact]
    public void Matches_AgreeWithTheRegex_OnRandomText()
    {
        var regex = CodePointRegex.Get(Gpt2Pattern.Regex);
        var random = new Random(20240611);
        for (var trial = 0; trial < 20_000; trial++)
        {
            var text = string.Concat(Enumerable.Range(0, random.Next(1, 12))
                .Select(_ => Alphabet[random.Next(Alphabet.Length)]));
            var expected = new List<(int, int)>();
            regex.Matches(text, expected);
            var actual = new List<(int, int)>();
            Gpt2Pattern.Matches(text, actual);
            Assert.True(expected.SequenceEqual(actual),
                $"text {string.Join(" ", text.Select(c => $"U+{(int)c:X4}"))}: regex [{string.Join(", ", expected)}], " +
                $"scanner [{string.Join(", ", actual)}]");
        }
    }

    [Fact]
    public void Matches_SplitsLikeGpt2()
    {
        const string text = "I'm   here\n\nit's 42!";
        var matches = new List<(int Start, int End)>();
        Gpt2Pattern.Matches(text, matches);
        // A whitespace run gives its last character to the next word; a lone newline before a word stands alone.
        Assert.Equal(["I", "'m", "  ", " here", "\n", "\n", "it", "'s", " 42", "!"],
            matches.Select(m => text[m.Start..m.End]));
    }
}
