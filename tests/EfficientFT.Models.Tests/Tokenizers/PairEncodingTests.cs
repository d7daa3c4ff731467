using EfficientFT.Models.Tokenizers;

namespace EfficientFT.Models.Tests.Tokenizers;

/// <summary>Sequence pairs laid out by each model's pair template, as HF documents them.</summary>
public sealed class PairEncodingTests
{
    [Fact]
    public void Bert_Pair_IsClsASepBSep_WithSecondSegmentTypeOne()
    {
        var bert = TokenizerFixtures.Tokenizer("bert");
        var encoding = bert.Encode("Hello world", "How are you?");

        // hello=7592 world=2088 how=2129 are=2024 you=2017 ?=1029, from the golden records.
        Assert.Equal([101, 7592, 2088, 102, 2129, 2024, 2017, 1029, 102], encoding.Ids);
        Assert.Equal(["[CLS]", "hello", "world", "[SEP]", "how", "are", "you", "?", "[SEP]"], encoding.Tokens);
        Assert.Equal([0, 0, 0, 0, 1, 1, 1, 1, 1], encoding.TypeIds);
        Assert.Equal([1, 0, 0, 1, 0, 0, 0, 0, 1], encoding.SpecialTokensMask);
        Assert.All(encoding.AttentionMask, m => Assert.Equal(1, m));
    }

    [Fact]
    public void Bert_PairWithoutSpecialTokens_KeepsTheSegmentTypes()
    {
        var encoding = TokenizerFixtures.Tokenizer("bert").Encode("Hello world", "How are you?", addSpecialTokens: false);
        Assert.Equal([7592, 2088, 2129, 2024, 2017, 1029], encoding.Ids);
        Assert.Equal([0, 0, 1, 1, 1, 1], encoding.TypeIds);
    }

    [Fact]
    public void Mistral_Pair_FollowsItsTemplate_BosABosB()
    {
        var mistral = TokenizerFixtures.Tokenizer("mistral");
        var a = mistral.Encode("Hello world", addSpecialTokens: false).Ids;
        var b = mistral.Encode("How are you?", addSpecialTokens: false).Ids;

        var encoding = mistral.Encode("Hello world", "How are you?");

        Assert.Equal([1, .. a, 1, .. b], encoding.Ids);
        Assert.Equal([0, .. a.Select(_ => 0), 1, .. b.Select(_ => 1)], encoding.TypeIds);
    }

    [Fact]
    public void Gpt2_Pair_IsConcatenated_WithTypeIdsPerSequence()
    {
        var gpt2 = TokenizerFixtures.Tokenizer("gpt2");
        var a = gpt2.Encode("Hello world").Ids;
        var b = gpt2.Encode(" How are you?").Ids;

        var encoding = gpt2.Encode("Hello world", " How are you?");

        Assert.Equal([.. a, .. b], encoding.Ids);
        Assert.Equal([.. a.Select(_ => 0), .. b.Select(_ => 1)], encoding.TypeIds);
    }
}
