using System.Text;

namespace EfficientFT.Models.Tests.Tokenizers;

/// <summary>Every golden record of every fixture: ids, tokens and both decodings exactly as Hugging Face produces them.</summary>
public sealed class GoldenRecordTests
{
    public static TheoryData<string, int, string> Records()
    {
        var data = new TheoryData<string, int, string>();
        foreach (var fixture in TokenizerFixtures.Names)
        {
            var records = TokenizerFixtures.GoldenRecords(fixture);
            for (var i = 0; i < records.Length; i++)
                data.Add(fixture, i, $"{records[i].Name}{(records[i].AddSpecialTokens ? "+special" : "")}");
        }
        return data;
    }

    [Fact]
    public void EachFixture_Has138Records()
    {
        foreach (var fixture in TokenizerFixtures.Names)
            Assert.Equal(138, TokenizerFixtures.GoldenRecords(fixture).Length);
    }

    [Theory]
    [MemberData(nameof(Records))]
    public void Record_MatchesHuggingFace(string fixture, int index, string name)
    {
        var record = TokenizerFixtures.GoldenRecords(fixture)[index];
        var tokenizer = TokenizerFixtures.Tokenizer(fixture);
        var context = $"{fixture}/{name}, text {Escape(record.Text)}";

        var encoding = tokenizer.Encode(record.Text, record.AddSpecialTokens);
        AssertSameSequence(record.Ids, encoding.Ids, "ids", context);
        AssertSameSequence(record.Tokens, encoding.Tokens, "tokens", context);
        AssertSameText(record.Decoded, tokenizer.Decode(record.Ids), "decoded", context);
        AssertSameText(record.DecodedSkipSpecial, tokenizer.Decode(record.Ids, skipSpecialTokens: true),
            "decoded with special tokens skipped", context);
    }

    [Fact]
    public void ConcurrentEncoding_GivesTheSameIds()
    {
        // Tokenizers are shared across data-loading threads; the BPE cache and merge queue must not leak between them.
        foreach (var fixture in TokenizerFixtures.Names)
        {
            var tokenizer = TokenizerFixtures.Tokenizer(fixture);
            var records = TokenizerFixtures.GoldenRecords(fixture);
            var work = Enumerable.Range(0, 20).SelectMany(_ => records).ToArray();
            var results = new int[work.Length][];
            Parallel.For(0, work.Length, i => results[i] = tokenizer.Encode(work[i].Text, work[i].AddSpecialTokens).Ids);
            for (var i = 0; i < work.Length; i++)
                Assert.Equal(work[i].Ids, results[i]);
        }
    }

    private static void AssertSameSequence<T>(IReadOnlyList<T> expected, IReadOnlyList<T> actual, string what,
        string context)
    {
        var common = Math.Min(expected.Count, actual.Count);
        var at = Enumerable.Range(0, common).FirstOrDefault(i => !Equals(expected[i], actual[i]), -1);
        if (at < 0 && expected.Count == actual.Count)
            return;
        at = at < 0 ? common : at;
        Assert.Fail($"{context}: {what} differ first at position {at} (expected {expected.Count}, got {actual.Count})\n"
            + $"  expected: {Show(expected, at)}\n  actual:   {Show(actual, at)}");
    }

    private static void AssertSameText(string expected, string actual, string what, string context)
    {
        if (expected == actual)
            return;
        var at = 0;
        while (at < expected.Length && at < actual.Length && expected[at] == actual[at])
            at++;
        Assert.Fail($"{context}: {what} differs first at character {at}\n  expected: {Escape(expected)}\n"
            + $"  actual:   {Escape(actual)}");
    }

    private static string Show<T>(IReadOnlyList<T> items, int around)
    {
        var from = Math.Max(0, around - 3);
        var shown = items.Skip(from).Take(8).Select(x => x is string s ? Escape(s) : $"{x}");
        return $"[{(from > 0 ? "…, " : "")}{string.Join(", ", shown)}{(from + 8 < items.Count ? ", …" : "")}]";
    }

    private static string Escape(string s)
    {
        var builder = new StringBuilder("\"");
        foreach (var c in s)
            builder.Append(c is < ' ' or '\u007F' or '\u0085' or (>= '\u2028' and <= '\u2029') or '\uFEFF'
                ? $"\\u{(int)c:X4}" : c.ToString());
        return builder.Append('"').ToString();
    }
}
