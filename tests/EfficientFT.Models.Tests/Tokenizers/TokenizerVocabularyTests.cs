namespace EfficientFT.Models.Tests.Tokenizers;

/// <summary>Vocabulary sizes and special tokens of the fixtures, as their model cards and tokenizer configs give them.</summary>
public sealed class TokenizerVocabularyTests
{
    [Theory]
    [InlineData("gpt2", 50257, 50256, 50256, null, null, null)]
    [InlineData("bert", 30522, 101, 102, 0, 100, 103)]
    [InlineData("mistral", 32000, 1, 2, null, 0, null)]
    public void VocabSizeAndSpecialTokens_MatchTheModelConfigs(string fixture, int vocabSize, int? bos, int? eos,
        int? pad, int? unk, int? mask)
    {
        var tokenizer = TokenizerFixtures.Tokenizer(fixture);
        Assert.Equal(vocabSize, tokenizer.VocabSize);
        Assert.Equal((bos, eos, pad, unk, mask), (tokenizer.BosTokenId, tokenizer.EosTokenId, tokenizer.PadTokenId,
            tokenizer.UnkTokenId, tokenizer.MaskTokenId));
    }

    [Theory]
    [InlineData("gpt2", "Ġworld", 995)]
    [InlineData("gpt2", "<|endoftext|>", 50256)]
    [InlineData("bert", "##ing", 2075)]
    [InlineData("bert", "[SEP]", 102)]
    [InlineData("mistral", "<0x0A>", 13)]
    public void TokenToId_AndIdToToken_AreInverse(string fixture, string token, int id)
    {
        var tokenizer = TokenizerFixtures.Tokenizer(fixture);
        Assert.Equal(id, tokenizer.TokenToId(token));
        Assert.Equal(token, tokenizer.IdToToken(id));
    }

    [Fact]
    public void UnknownTokensAndIds_GiveNull()
    {
        var bert = TokenizerFixtures.Tokenizer("bert");
        Assert.Null(bert.TokenToId("not-a-token"));
        Assert.Null(bert.IdToToken(30522));
        Assert.Null(bert.IdToToken(-1));
    }
}
