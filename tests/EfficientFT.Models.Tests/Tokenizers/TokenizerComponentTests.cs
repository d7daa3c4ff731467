using EfficientFT.Models.Tokenizers;

namespace EfficientFT.Models.Tests.Tokenizers;

/// <summary>
/// Components the three golden fixtures do not use, on small hand-written tokenizer.json files whose results follow
/// from HF's documented behaviour of each component.
/// </summary>
public sealed class TokenizerComponentTests
{
    private const string Llama3Split =
        @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

    private static string Llama3Like(bool ignoreMerges) => """
        {"added_tokens": [{"id": 11, "content": "<|begin_of_text|>", "special": true, "normalized": false,
                           "single_word": false, "lstrip": false, "rstrip": false}],
         "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
             {"type": "Split", "pattern": {"Regex": SPLIT_REGEX},
              "behavior": "Isolated", "invert": false},
             {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": false}]},
         "post_processor": {"type": "Sequence", "processors": [
             {"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": false, "use_regex": true},
             {"type": "TemplateProcessing",
              "single": [{"SpecialToken": {"id": "<|begin_of_text|>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
              "pair": [{"SpecialToken": {"id": "<|begin_of_text|>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                       {"SpecialToken": {"id": "<|begin_of_text|>", "type_id": 1}}, {"Sequence": {"id": "B", "type_id": 1}}],
              "special_tokens": {"<|begin_of_text|>": {"id": "<|begin_of_text|>", "ids": [11], "tokens": ["<|begin_of_text|>"]}}}]},
         "decoder": {"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true},
         "model": {"type": "BPE", "ignore_merges": IGNORE_MERGES,
                   "vocab": {"Ġ": 0, "a": 1, "b": 2, "c": 3, "Ġabc": 4, "1": 5, "2": 6, "3": 7, "4": 8, "12": 9, "123": 10},
                   "merges": [["1", "2"], ["12", "3"]]}}
        """.Replace("SPLIT_REGEX", System.Text.Json.JsonSerializer.Serialize(Llama3Split))
        .Replace("IGNORE_MERGES", ignoreMerges ? "true" : "false");

    [Fact]
    public void Llama3StyleSplit_GroupsDigitsInThrees_AndIgnoreMergesTakesWholeWords()
    {
        var tokenizer = Tokenizer.FromJson(Llama3Like(ignoreMerges: true));
        var encoding = tokenizer.Encode("1234 abc");

        Assert.Equal(["<|begin_of_text|>", "123", "4", "Ġabc"], encoding.Tokens);
        Assert.Equal([11, 10, 8, 4], encoding.Ids);
        Assert.Equal("<|begin_of_text|>1234 abc", tokenizer.Decode(encoding.Ids));
        Assert.Equal("1234 abc", tokenizer.Decode(encoding.Ids, skipSpecialTokens: true));
        Assert.Equal(11, tokenizer.BosTokenId);
    }

    [Fact]
    public void WithoutIgnoreMerges_AWordOutsideTheMergesIsSpelledOut() =>
        Assert.Equal(["123", "4", "Ġ", "a", "b", "c"],
            Tokenizer.FromJson(Llama3Like(ignoreMerges: false)).Encode("1234 abc", addSpecialTokens: false).Tokens);

    private static string MetaspaceWordLevel(string scheme) => $$$"""
        {"added_tokens": [{"id": 4, "content": "<s>", "special": true, "normalized": false,
                           "single_word": false, "lstrip": false, "rstrip": false}],
         "pre_tokenizer": {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "{{{scheme}}}", "split": true},
         "decoder": {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "{{{scheme}}}", "split": true},
         "model": {"type": "WordLevel", "vocab": {"▁hello": 0, "hello": 1, "▁world": 2, "<unk>": 3, "<s>": 4},
                   "unk_token": "<unk>"}}
        """;

    [Theory]
    [InlineData("always", new[] { 4, 0, 2 })]
    [InlineData("first", new[] { 4, 1, 2 })]
    [InlineData("never", new[] { 4, 1, 2 })]
    public void Metaspace_PrependsPerScheme_AfterALeadingSpecialToken(string scheme, int[] expected) =>
        Assert.Equal(expected, Tokenizer.FromJson(MetaspaceWordLevel(scheme)).Encode("<s>hello world").Ids);

    [Fact]
    public void Metaspace_First_PrependsAtTheStartOfTheText_AndTheDecoderRemovesIt()
    {
        var tokenizer = Tokenizer.FromJson(MetaspaceWordLevel("first"));
        Assert.Equal([0, 2], tokenizer.Encode("hello world").Ids);
        Assert.Equal("hello world", tokenizer.Decode([0, 2]));
        Assert.Equal(3, tokenizer.UnkTokenId);
    }

    private const string RobertaLike = """
        {"added_tokens": [
            {"id": 0, "content": "<s>", "special": true, "normalized": false, "single_word": false, "lstrip": false, "rstrip": false},
            {"id": 1, "content": "<pad>", "special": true, "normalized": false, "single_word": false, "lstrip": false, "rstrip": false},
            {"id": 2, "content": "</s>", "special": true, "normalized": false, "single_word": false, "lstrip": false, "rstrip": false},
            {"id": 3, "content": "<mask>", "special": true, "normalized": false, "single_word": false, "lstrip": true, "rstrip": false}],
         "normalizer": {"type": "Sequence", "normalizers": [{"type": "NFKC"}, {"type": "Lowercase"}, {"type": "Strip", "strip_left": true, "strip_right": true}]},
         "pre_tokenizer": {"type": "WhitespaceSplit"},
         "post_processor": {"type": "RobertaProcessing", "sep": ["</s>", 2], "cls": ["<s>", 0], "trim_offsets": true, "add_prefix_space": false},
         "model": {"type": "WordLevel", "vocab": {"<s>": 0, "<pad>": 1, "</s>": 2, "<mask>": 3, "a": 4, "b": 5, "fi": 6, "<unk>": 7},
                   "unk_token": "<unk>"}}
        """;

    [Fact]
    public void RobertaProcessing_PairIsClsASepSepBSep_AllTypeZero()
    {
        var tokenizer = Tokenizer.FromJson(RobertaLike);
        var encoding = tokenizer.Encode("a", "b");
        Assert.Equal([0, 4, 2, 2, 5, 2], encoding.Ids);
        Assert.Equal(new int[6], encoding.TypeIds);
        Assert.Equal((0, 2, 1, 3), (tokenizer.BosTokenId, tokenizer.EosTokenId, tokenizer.PadTokenId, tokenizer.MaskTokenId));
    }

    [Fact]
    public void Normalizers_RunInSequence_BeforeTheModel() =>
        Assert.Equal([0, 6, 4, 7, 2], Tokenizer.FromJson(RobertaLike).Encode("  ﬁ A Z  ").Ids);

    [Fact]
    public void LeftStrippingAddedToken_AbsorbsTheSpaceBeforeIt()
    {
        var encoding = Tokenizer.FromJson(RobertaLike).Encode("a <mask> b", addSpecialTokens: false);
        Assert.Equal([4, 3, 5], encoding.Ids);
        Assert.Equal(["a", " <mask>", "b"], encoding.Tokens);
    }

    [Fact]
    public void SingleWordAddedToken_IsNotMatchedInsideAWord()
    {
        const string json = """
            {"added_tokens": [{"id": 1, "content": "ab", "special": false, "normalized": false,
                               "single_word": true, "lstrip": false, "rstrip": false}],
             "pre_tokenizer": {"type": "Whitespace"},
             "model": {"type": "WordLevel", "vocab": {"<unk>": 0, "ab": 1, "xab": 2, "x": 3}, "unk_token": "<unk>"}}
            """;
        var tokenizer = Tokenizer.FromJson(json);
        Assert.Equal([1, 3, 1], tokenizer.Encode("ab x ab").Ids);
        Assert.Equal([2], tokenizer.Encode("xab").Ids);
    }

    [Fact]
    public void BertCleanText_DropsControlFormatAndPrivateUse_ButKeepsUnassignedCodePoints()
    {
        // HF's is_other covers Cc, Cf and Co only, so U+0378 (unassigned) survives cleaning and becomes [UNK].
        var bert = TokenizerFixtures.Tokenizer("bert");
        Assert.Equal(["a", "b"], bert.Encode("a\u200B\uE000\u0007 b", addSpecialTokens: false).Tokens);
        Assert.Equal(["a", "[UNK]"], bert.Encode("a \u0378", addSpecialTokens: false).Tokens);
    }

    [Fact]
    public void WordPieceDecoder_JoinsContinuations_AndCleansUpEachTokenOnItsOwn()
    {
        // HF cleans up token by token, so " ." loses its space but the apostrophe of don ' t, split over three
        // tokens, keeps both of its spaces.
        var bert = TokenizerFixtures.Tokenizer("bert");
        var ids = bert.Encode("Tokenization works. Don't panic", addSpecialTokens: false).Ids;
        Assert.Equal("tokenization works. don ' t panic", bert.Decode(ids));
    }

    [Fact]
    public void WordPieceDecoder_WithAnEmptyPrefix_JoinsEveryToken() =>
        Assert.Equal(["un", "able"], new WordPieceDecoder("", cleanup: false).Decode(["un", "able"]));
}
