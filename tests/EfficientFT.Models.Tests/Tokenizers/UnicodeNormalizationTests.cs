using System.Text;
using EfficientFT.Models.Tokenizers;

namespace EfficientFT.Models.Tests.Tokenizers;

/// <summary>Examples whose normal forms the Unicode standard fixes (UAX #15 and the UCD).</summary>
public sealed class UnicodeNormalizationTests
{
    [Theory]
    [InlineData("é", NormalizationForm.FormD, "e\u0301")]
    [InlineData("e\u0301", NormalizationForm.FormC, "é")]
    [InlineData("ﬁ", NormalizationForm.FormKC, "fi")]
    [InlineData("ﬁ", NormalizationForm.FormC, "ﬁ")]
    [InlineData("①½", NormalizationForm.FormKD, "11\u20442")]
    [InlineData("한", NormalizationForm.FormD, "\u1112\u1161\u11AB")]
    [InlineData("\u1112\u1161\u11AB", NormalizationForm.FormC, "한")]
    [InlineData("ệ", NormalizationForm.FormD, "e\u0323\u0302")]
    [InlineData("e\u0302\u0323", NormalizationForm.FormC, "ệ")]
    [InlineData("\u212B", NormalizationForm.FormC, "Å")]
    [InlineData("ＡＢＣ１２３", NormalizationForm.FormKC, "ABC123")]
    [InlineData("plain ascii", NormalizationForm.FormKD, "plain ascii")]
    public void Normalize_GivesTheStandardForm(string input, NormalizationForm form, string expected) =>
        Assert.Equal(expected, UnicodeNormalization.Normalize(input, form));

    /// <summary>
    /// A long run of alternating combining marks, acute (class 230) and grave below (class 220), comes out in canonical
    /// order: every 220 before every 230, the base letters in place. The run is long enough that a quadratic
    /// reordering would take minutes.
    /// </summary>
    [Fact]
    public void ALongRunOfCombiningMarks_ReordersStablyByClass()
    {
        const int pairs = 20_000;
        var input = "a" + string.Concat(Enumerable.Repeat("\u0301\u0316", pairs)) + "b";
        var expected = "a" + new string('\u0316', pairs) + new string('\u0301', pairs) + "b";
        Assert.Equal(expected, UnicodeNormalization.Normalize(input, NormalizationForm.FormD));
    }

    [Fact]
    public void StripNonSpacingMarks_RemovesAccentsButKeepsBaseLetters() =>
        Assert.Equal("cafe naive Angstrom", UnicodeNormalization.StripNonSpacingMarks("café naïve Ångström"));
}
