using EfficientFT.Training.Pretraining;

namespace EfficientFT.Training.Tests.Pretraining;

/// <summary>Packing worked by hand, and BERT's masking rule checked against its binomial expectations.</summary>
public sealed class MaskedLmDataTests
{
    private static readonly MaskedLmTokens Ids = new(Bos: 100, Eos: 102, Pad: 101, Mask: 103, VocabSize: 1000);

    [Fact]
    public void Pack_JoinsDocumentsWithEosAndFramesEveryChunk()
    {
        // Stream 10 11 12 </s> 13 14 </s> 15; chunks of 5 − 2 = 3 tokens; the last chunk is short.
        var blocks = MaskedLmData.Pack([[10, 11, 12], [], [13, 14], [15]], maxLength: 5, Ids);

        Assert.Equal(
            [[100, 10, 11, 12, 102], [100, 102, 13, 14, 102], [100, 102, 15, 102]],
            blocks);
    }

    [Fact]
    public void Mask_FollowsTheEightyTenTenRule()
    {
        const int blocks = 200, length = 100;
        var source = Enumerable.Range(0, blocks).Select(b => new[] { 100 }
            .Concat(Enumerable.Range(0, length - 2).Select(j => 10 + (b * 7 + j) % 80)).Append(102).ToArray()).ToList();
        var data = MaskedLmData.Mask(source, length + 4, Ids, probability: 0.15, copies: 1, seed: 5);

        int targets = 0, masked = 0, random = 0, kept = 0;
        for (var b = 0; b < blocks; b++)
        {
            for (var j = 0; j < length + 4; j++)
            {
                var at = b * (length + 4) + j;
                var label = data.TokenLabels![at];
                if (j == 0 || j >= length - 1)
                {
                    // <s>, </s> and padding are never targets; padding is masked out of attention.
                    Assert.Equal(-100, label);
                    Assert.Equal(j < length ? 1 : 0, data.AttentionMask[at]);
                    continue;
                }
                Assert.Equal(1, data.AttentionMask[at]);
                if (label == -100)
                {
                    Assert.Equal(source[b][j], data.InputIds[at]);
                    continue;
                }
                Assert.Equal(source[b][j], label);
                targets++;
                if (data.InputIds[at] == Ids.Mask) masked++;
                else if (data.InputIds[at] == label) kept++;
                else random++;
            }
        }

        // Binomial bounds at five standard deviations: targets ~ B(19600, 0.15); given a target, <mask> ~ 0.8, and
        // kept ~ 0.1 plus the random draws that land on the original token (1 in 1000).
        const int eligible = blocks * (length - 2);
        Assert.InRange(targets, eligible * 0.15 - 5 * Math.Sqrt(eligible * 0.15 * 0.85), eligible * 0.15 + 5 * Math.Sqrt(eligible * 0.15 * 0.85));
        double Bound(double p) => 5 * Math.Sqrt(p * (1 - p) / targets);
        Assert.InRange((double)masked / targets, 0.8 - Bound(0.8), 0.8 + Bound(0.8));
        Assert.InRange((double)kept / targets, 0.1 - Bound(0.1), 0.1 + Bound(0.1));
        Assert.InRange((double)random / targets, 0.1 - Bound(0.1), 0.1 + Bound(0.1));
    }

    [Fact]
    public void Mask_CopiesDrawDifferentMasks_AndTheSameSeedTheSameOnes()
    {
        var source = new List<int[]> { new[] { 100 }.Concat(Enumerable.Range(10, 60)).Append(102).ToArray() };
        var data = MaskedLmData.Mask(source, 62, Ids, 0.15, copies: 2, seed: 9);
        Assert.NotEqual(data.TokenLabels!.Take(62), data.TokenLabels!.Skip(62));
        Assert.Equal(data.InputIds, MaskedLmData.Mask(source, 62, Ids, 0.15, copies: 2, seed: 9).InputIds);
    }

    [Fact]
    public void Mask_RowThatDrawsNoTarget_StillGetsOne()
    {
        // One ordinary token at probability 1e-9 is all but certain to draw nothing; the row must still train.
        var data = MaskedLmData.Mask([[100, 42, 102]], 3, Ids, 1e-9, copies: 1, seed: 0);
        Assert.Equal([-100, 42, -100], data.TokenLabels!);
    }
}
