using EfficientFT.Models.Tokenizers;

namespace EfficientFT.Models.Tests.Tokenizers;

/// <summary>GPT-2 style vocab.json + merges.txt, on a vocabulary small enough to apply the merges by hand.</summary>
public sealed class VocabMergesTests : IDisposable
{
    private const string Vocab = """
        {"h": 0, "e": 1, "l": 2, "o": 3, "Ġ": 4, "w": 5, "r": 6, "d": 7, "he": 8, "ll": 9, "llo": 10,
         "hello": 11, "Ġw": 12, "or": 13, "Ġwor": 14}
        """;

    private const string Merges = "#version: 0.2\nh e\nl l\nll o\nhe llo\nĠ w\no r\nĠw or\n";

    private readonly string _directory = Directory.CreateTempSubdirectory("eft-vocab-merges-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private Tokenizer Load(string vocab = Vocab, string merges = Merges, ByteLevelBpeOptions? options = null)
    {
        File.WriteAllText(Path.Combine(_directory, "vocab.json"), vocab);
        File.WriteAllText(Path.Combine(_directory, "merges.txt"), merges);
        return Tokenizer.FromVocabAndMerges(Path.Combine(_directory, "vocab.json"),
            Path.Combine(_directory, "merges.txt"), options);
    }

    [Fact]
    public void Encode_AppliesMergesInRankOrder()
    {
        // "hello": h e → he, l l → ll, ll o → llo, he llo → hello. "Ġworld": Ġ w → Ġw, o r → or, Ġw or → Ġwor; l, d stay.
        var encoding = Load().Encode("hello world");
        Assert.Equal([11, 14, 2, 7], encoding.Ids);
        Assert.Equal(["hello", "Ġwor", "l", "d"], encoding.Tokens);
    }

    /// <summary>A pair listed twice ranks where it is listed last, as tokenizers' BpeBuilder collects the merges into a map.</summary>
    [Fact]
    public void AMergeListedTwice_TakesItsLastRank()
    {
        const string vocab = """{"a": 0, "b": 1, "c": 2, "ab": 3, "bc": 4}""";
        // First listing of "a b" outranks "b c"; the second listing comes after it, so "b c" wins for "abc".
        Assert.Equal(["a", "bc"], Load(vocab, "#version: 0.2\na b\nb c\na b\n").Encode("abc").Tokens);
        Assert.Equal(["ab", "c"], Load(vocab, "#version: 0.2\na b\nb c\n").Encode("abc").Tokens);
    }

    [Fact]
    public void Decode_RestoresTheText() => Assert.Equal("hello world", Load().Decode([11, 14, 2, 7]));

    [Fact]
    public void SpecialTokens_AreMatchedWholeAndGetTheNextFreeId()
    {
        var tokenizer = Load(options: new ByteLevelBpeOptions(SpecialTokens: ["<|endoftext|>"]));

        Assert.Equal(16, tokenizer.VocabSize);
        Assert.Equal([11, 15, 11], tokenizer.Encode("hello<|endoftext|>hello").Ids);
        Assert.Equal("hello<|endoftext|>", tokenizer.Decode([11, 15]));
        Assert.Equal("hello", tokenizer.Decode([11, 15], skipSpecialTokens: true));
        Assert.Equal(15, tokenizer.EosTokenId);
    }

    /// <summary>
    /// As transformers converts a RobertaTokenizer: its five special tokens take the next free ids (none is in this
    /// vocabulary), sequences are wrapped in &lt;s&gt; … &lt;/s&gt; (pairs with &lt;/s&gt;&lt;/s&gt; between), and
    /// &lt;mask&gt; absorbs the space before it, so the word after it keeps its own (the token's text then holds that
    /// space, as tokenizers' does: it is the matched slice of the input).
    /// </summary>
    [Fact]
    public void RobertaOptions_WrapInTheTemplate_AndMaskTakesTheSpaceBeforeIt()
    {
        var tokenizer = Load(options: ByteLevelBpeOptions.Roberta());

        var single = tokenizer.Encode("hello <mask> world");
        Assert.Equal(["<s>", "hello", " <mask>", "Ġwor", "l", "d", "</s>"], single.Tokens);
        Assert.Equal([15, 11, 19, 14, 2, 7, 17], single.Ids);
        Assert.Equal([11, 19, 14, 2, 7], tokenizer.Encode("hello <mask> world", addSpecialTokens: false).Ids);
        Assert.Equal(["<s>", "hello", "</s>", "</s>", "hello", "</s>"], tokenizer.Encode("hello", "hello").Tokens);
        Assert.Equal(16, tokenizer.PadTokenId);
    }

    [Fact]
    public void AddPrefixSpace_TreatsTheFirstWordLikeTheOthers() =>
        Assert.Equal(["Ġwor", "l", "d"], Load(options: new ByteLevelBpeOptions(AddPrefixSpace: true)).Encode("world").Tokens);

    [Fact]
    public void MalformedMergeLine_NamesFileAndLine()
    {
        var error = Assert.Throws<TokenizerFormatException>(() => Load(merges: "#version: 0.2\nh e\nl l o\n"));
        Assert.Contains("merges.txt", error.Message);
        Assert.Contains("line 3", error.Message);
    }

    [Fact]
    public void MergeOfAnUnknownToken_IsAFormatError()
    {
        var error = Assert.Throws<TokenizerFormatException>(() => Load(merges: "h e\nx y\n"));
        Assert.Contains("'x'", error.Message);
    }
}
