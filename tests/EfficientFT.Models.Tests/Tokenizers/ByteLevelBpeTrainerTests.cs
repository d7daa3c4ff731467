using EfficientFT.Models.Tokenizers;
using EfficientFT.Models.Tokenizers.Training;

namespace EfficientFT.Models.Tests.Tokenizers;

/// <summary>
/// Byte-level BPE training, checked against merges worked out by hand, against a brute-force trainer that recounts
/// every pair before each merge, and by what the trained tokenizer does with text.
/// </summary>
public sealed class ByteLevelBpeTrainerTests
{
    // 4 special tokens + 256 bytes + <mask>: the vocabulary before any merge.
    private const int NoMerges = 261;

    private const string English = """
        The quick brown fox jumps over the lazy dog. The dog sleeps in the sun, and the fox watches the dog.
        A film is a story told with moving pictures; the story of this film is a story about a dog and a fox.
        I'd say it's the best film I've seen this year, and I'll watch it again: the acting is good, the music better.
        """;

    private static ByteLevelBpeVocabulary Train(IEnumerable<string> texts, int vocabSize, int minFrequency = 2) =>
        ByteLevelBpeTrainer.Train(texts, new ByteLevelBpeTrainerOptions { VocabSize = vocabSize, MinFrequency = minFrequency });

    [Fact]
    public void Train_HandWorkedCorpus_MergesTheMostFrequentPairsFirst()
    {
        // Words "ab" ×1, "Ġab" ×2, "Ġabc" ×1. Pairs: (a,b) 4, (Ġ,a) 3, (b,c) 1 → merge a b. Then (Ġ,ab) 3,
        // (ab,c) 1 → merge Ġ ab. Then only (Ġab,c) 1 is left, below the minimum frequency of 2.
        var trained = Train(["ab ab ab abc"], vocabSize: 1000);

        Assert.Equal([("a", "b"), ("Ġ", "ab")], trained.Merges);
        Assert.Equal(NoMerges + 2, trained.Tokens.Count);
        Assert.Equal(["<s>", "<pad>", "</s>", "<unk>"], trained.Tokens.Take(4));
        Assert.Equal(["ab", "Ġab", "<mask>"], trained.Tokens.Skip(NoMerges - 1));
    }

    [Fact]
    public void Train_EqualCounts_PrefersTheSmallerIdsAndStopsAtTheVocabularySize()
    {
        // Words "xy" and "Ġzw", once each: (x,y), (Ġ,z), (z,w) all occur once. Bytes are numbered in code-point order
        // and Ġ is U+0120, after every ASCII letter, so x y (smallest left id) goes first, then z w, then Ġ z would
        // have been next had the vocabulary had room for it.
        var trained = Train(["xy zw"], vocabSize: NoMerges + 2, minFrequency: 1);

        Assert.Equal([("x", "y"), ("z", "w")], trained.Merges);
        Assert.Equal(NoMerges + 2, trained.Tokens.Count);
    }

    [Fact]
    public void Train_RepeatedSymbol_MergesPairsLeftToRightWithoutOverlap()
    {
        // "aaaaa": (a,a) occurs 4 times; merged left to right it gives aa aa a, whose pairs (aa,aa) and (aa,a) occur
        // once each. The byte a has a smaller id than the merged aa, so (aa,a) goes next, giving aa aaa, then aa aaa.
        var trained = Train(["aaaaa"], vocabSize: NoMerges + 3, minFrequency: 1);

        Assert.Equal([("a", "a"), ("aa", "a"), ("aa", "aaa")], trained.Merges);
    }

    [Fact]
    public void Train_MatchesABruteForceTrainerOnRandomText()
    {
        var random = new Random(7);
        var documents = Enumerable.Range(0, 200).Select(_ => string.Join(' ', Enumerable.Range(0, random.Next(1, 12))
            .Select(_ => new string(Enumerable.Range(0, random.Next(1, 7)).Select(_ => "abcd"[random.Next(4)]).ToArray())))).ToList();

        foreach (var minFrequency in new[] { 1, 3 })
        {
            var trained = Train(documents, vocabSize: NoMerges + 150, minFrequency);
            var expected = BruteForce(documents, NoMerges - 1 + 150, minFrequency);
            Assert.Equal(expected, trained.Merges);
        }
    }

    [Fact]
    public void Trained_RoundTripsAnyText_AndLoadsWithRobertasLayout()
    {
        var tokenizer = Train([English], vocabSize: 320, minFrequency: 1).ToTokenizer();
        string[] samples =
        [
            English, "Grüße aus Köln — naïve café, 東京タワー, Привет, مرحبا 🙂👍🏽", "tabs\tand\nnew lines\r\n  double  spaces ",
            "", "<not a special token>", "it's 1,234.56% off!!!",
        ];
        foreach (var text in samples)
        {
            var encoded = tokenizer.Encode(text);
            Assert.Equal(0, encoded.Ids[0]);
            Assert.Equal(2, encoded.Ids[^1]);
            Assert.Equal(text, tokenizer.Decode(encoded.Ids, skipSpecialTokens: true));
        }
        Assert.Equal((0, 1, 2, 3, 319), (tokenizer.BosTokenId, tokenizer.PadTokenId, tokenizer.EosTokenId, tokenizer.UnkTokenId ?? tokenizer.TokenToId("<unk>"), tokenizer.MaskTokenId));
        Assert.Equal(320, tokenizer.VocabSize);
    }

    [Fact]
    public void Trained_EncodesItsTrainingTextInFewerTokensThanBytes()
    {
        var tokenizer = Train([English], vocabSize: 400).ToTokenizer();
        var tokens = tokenizer.Encode(English, addSpecialTokens: false).Length;
        var bytes = System.Text.Encoding.UTF8.GetByteCount(English);
        // Every merge is of a pair the text holds at least twice, so each one shortens the text's encoding.
        Assert.True(tokens < bytes, $"{tokens} tokens for {bytes} bytes");
    }

    [Fact]
    public void Train_IsDeterministic_WhateverTheDocumentOrder()
    {
        var documents = English.Split('\n');
        var first = Train(documents, vocabSize: 350).ToJson();
        Assert.Equal(first, Train(documents, vocabSize: 350).ToJson());
        Assert.Equal(first, Train(documents.Reverse(), vocabSize: 350).ToJson());
    }

    [Fact]
    public void Train_VocabularyTooSmallForTheBytes_Throws()
    {
        var e = Assert.Throws<ArgumentException>(() => Train([English], vocabSize: 260));
        Assert.Contains("at least 261", e.Message);
    }

    /// <summary>
    /// The definition, run directly on space-separated lowercase words (where GPT-2's split is plain: the first word
    /// as is, every later one with its space as Ġ): recount every adjacent pair, merge the most frequent (smaller ids
    /// on a tie) everywhere left to right, until <paramref name="vocabLimit"/> tokens or no pair is frequent enough.
    /// </summary>
    private static List<(string, string)> BruteForce(IEnumerable<string> documents, int vocabLimit, int minFrequency)
    {
        var tokens = new List<string> { "<s>", "<pad>", "</s>", "<unk>" };
        tokens.AddRange(Enumerable.Range(0, 256).Select(b => ByteLevelAlphabet.CharOf((byte)b).ToString()).Order(StringComparer.Ordinal));
        var words = documents.SelectMany(d => d.Split(' ').Select((w, i) => i == 0 ? w : "Ġ" + w))
            .GroupBy(w => w).Select(g => (Symbols: g.Key.Select(c => c.ToString()).ToList(), Count: g.Count())).ToList();
        var merges = new List<(string, string)>();
        while (tokens.Count < vocabLimit)
        {
            var counts = new Dictionary<(string, string), int>();
            foreach (var (symbols, count) in words)
                for (var i = 0; i + 1 < symbols.Count; i++)
                    counts[(symbols[i], symbols[i + 1])] = counts.GetValueOrDefault((symbols[i], symbols[i + 1])) + count;
            if (counts.Count == 0) break;
            var best = counts.OrderByDescending(kv => kv.Value)
                .ThenBy(kv => tokens.IndexOf(kv.Key.Item1)).ThenBy(kv => tokens.IndexOf(kv.Key.Item2)).First();
            if (best.Value < minFrequency) break;
            var (left, right) = best.Key;
            if (!tokens.Contains(left + right)) tokens.Add(left + right);
            merges.Add((left, right));
            foreach (var (symbols, _) in words)
                for (var i = 0; i + 1 < symbols.Count; i++)
                    if (symbols[i] == left && symbols[i + 1] == right)
                    {
                        symbols[i] = left + right;
                        symbols.RemoveAt(i + 1);
                    }
        }
        return merges;
    }
}
