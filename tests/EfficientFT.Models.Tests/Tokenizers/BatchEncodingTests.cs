using EfficientFT.Models.Tokenizers;

namespace EfficientFT.Models.Tests.Tokenizers;

/// <summary>
/// Truncation and padding for GLUE-style batches with BERT, where each lowercase letter is one token, so lengths can
/// be read off the inputs. Expectations follow HF's documented rules: the maximum length counts the special tokens,
/// longest-first keeps a short sequence whole when it fits in half the room, padding goes right with [PAD].
/// </summary>
public sealed class BatchEncodingTests
{
    private const int Cls = 101, Sep = 102, Pad = 0;

    private static Tokenizer Bert => TokenizerFixtures.Tokenizer("bert");

    private static string Letters(int count) => string.Join(' ', Enumerable.Range(0, count).Select(i => (char)('a' + i)));

    private static int[] Ids(int count) => Bert.Encode(Letters(count), addSpecialTokens: false).Ids;

    [Fact]
    public void Single_IsCutToLeaveRoomForClsAndSep()
    {
        var batch = Bert.EncodeBatch([(Letters(10), null)], maxLength: 6);
        Assert.Equal([Cls, .. Ids(4), Sep], batch.Ids);
    }

    [Fact]
    public void LongestFirst_KeepsAShortFirstSequenceWhole()
    {
        // 11 - 3 special tokens = 8; the 3-token first sequence fits in half of that, the second gets the other 5.
        var batch = Bert.EncodeBatch([(Letters(3), Letters(10))], maxLength: 11);
        Assert.Equal([Cls, .. Ids(3), Sep, .. Ids(5), Sep], batch.Ids);
        Assert.Equal([0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1], batch.TypeIds);
    }

    [Fact]
    public void LongestFirst_SplitsEvenlyWhenBothAreLong()
    {
        var batch = Bert.EncodeBatch([(Letters(10), Letters(12))], maxLength: 11);
        Assert.Equal([Cls, .. Ids(4), Sep, .. Ids(4), Sep], batch.Ids);
    }

    [Theory]
    [InlineData(10, 12, 4, 5)]
    [InlineData(12, 10, 5, 4)]
    public void LongestFirst_GivesTheOddTokenToTheLongerSequence(int first, int second, int keptFirst, int keptSecond)
    {
        var batch = Bert.EncodeBatch([(Letters(first), Letters(second))], maxLength: 12);
        Assert.Equal([Cls, .. Ids(keptFirst), Sep, .. Ids(keptSecond), Sep], batch.Ids);
    }

    [Fact]
    public void OnlyFirst_And_OnlySecond_CutOnlyTheirSequence()
    {
        var first = Bert.EncodeBatch([(Letters(10), Letters(3))], maxLength: 11, truncation: TruncationStrategy.OnlyFirst);
        Assert.Equal([Cls, .. Ids(5), Sep, .. Ids(3), Sep], first.Ids);

        var second = Bert.EncodeBatch([(Letters(3), Letters(10))], maxLength: 11,
            truncation: TruncationStrategy.OnlySecond);
        Assert.Equal([Cls, .. Ids(3), Sep, .. Ids(5), Sep], second.Ids);
    }

    [Fact]
    public void Truncation_ThatCannotFit_IsAnError()
    {
        Assert.Throws<ArgumentException>(() => Bert.EncodeBatch([(Letters(5), null)], maxLength: 4,
            truncation: TruncationStrategy.OnlySecond));
        Assert.Throws<ArgumentException>(() => Bert.EncodeBatch([(Letters(2), Letters(10))], maxLength: 8,
            truncation: TruncationStrategy.OnlyFirst));
        Assert.Throws<ArgumentException>(() => Bert.EncodeBatch([(Letters(2), Letters(2))], maxLength: 2));
    }

    [Fact]
    public void Longest_PadsOnTheRightWithPadAndMasksIt()
    {
        var batch = Bert.EncodeBatch([(Letters(3), null), (Letters(1), null)]);

        Assert.Equal(2, batch.BatchSize);
        Assert.Equal(5, batch.SequenceLength);
        Assert.Equal([Cls, .. Ids(3), Sep, Cls, .. Ids(1), Sep, Pad, Pad], batch.Ids);
        Assert.Equal([1, 1, 1, 1, 1, 1, 1, 1, 0, 0], batch.AttentionMask);
        Assert.Equal(new int[10], batch.TypeIds);
        Assert.Equal([1, 0, 0, 0, 1, 1, 0, 1, 1, 1], batch.SpecialTokensMask);
        Assert.Equal(["[CLS]", "a", "[SEP]", "[PAD]", "[PAD]"], batch.Encodings[1].Tokens);
    }

    [Fact]
    public void MaxLength_PadsEveryRowToTheMaximum()
    {
        var batch = Bert.EncodeBatch([(Letters(3), Letters(2)), (Letters(1), null)], maxLength: 9,
            padding: PaddingStrategy.MaxLength);

        Assert.Equal(9, batch.SequenceLength);
        Assert.Equal([Cls, .. Ids(3), Sep, .. Ids(2), Sep, Pad, Cls, .. Ids(1), Sep, .. Enumerable.Repeat(Pad, 6)],
            batch.Ids);
        Assert.Equal([0, 0, 0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], batch.TypeIds);
    }

    [Fact]
    public void NoPadding_NeedsRowsOfEqualLength()
    {
        var batch = Bert.EncodeBatch([(Letters(2), null), ("x y", null)], padding: PaddingStrategy.None);
        Assert.Equal(4, batch.SequenceLength);
        Assert.Throws<ArgumentException>(() =>
            Bert.EncodeBatch([(Letters(2), null), (Letters(3), null)], padding: PaddingStrategy.None));
    }

    [Fact]
    public void Padding_WithoutAPadToken_NeedsOneToBeNamed()
    {
        var gpt2 = TokenizerFixtures.Tokenizer("gpt2");
        Assert.Null(gpt2.PadTokenId);
        Assert.Throws<ArgumentException>(() => gpt2.EncodeBatch([("a", null), ("a b", null)]));

        var batch = gpt2.EncodeBatch([("a", null), ("a b", null)], padToken: "<|endoftext|>");
        Assert.Equal([64, 50256, 64, 275], batch.Ids);
        Assert.Equal([1, 0, 1, 1], batch.AttentionMask);
    }

    [Fact]
    public void MaxLengthPadding_WithoutAMaximum_IsAnError() =>
        Assert.Throws<ArgumentException>(() => Bert.EncodeBatch([("a", null)], padding: PaddingStrategy.MaxLength));
}
