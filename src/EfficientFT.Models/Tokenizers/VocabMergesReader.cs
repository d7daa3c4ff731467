using System.Text.Json;

namespace EfficientFT.Models.Tokenizers;

/// <summary>Reads the vocab.json + merges.txt pair that GPT-2 and RoBERTa checkpoints ship.</summary>
internal static class VocabMergesReader
{
    public static Tokenizer Read(string vocabJsonPath, string mergesPath, ByteLevelBpeOptions options)
    {
        var vocabulary = ReadVocabulary(vocabJsonPath);
        var merges = ReadMerges(mergesPath);
        BpeModel model;
        try
        {
            model = new BpeModel(new Vocabulary(vocabulary), merges, new BpeOptions());
        }
        catch (FormatException e)
        {
            throw new TokenizerFormatException(mergesPath, e.Message, e);
        }

        var added = new List<AddedToken>();
        var nextId = vocabulary.Count == 0 ? 0 : vocabulary.Values.Max() + 1;
        foreach (var special in options.SpecialTokens ?? [])
        {
            var id = vocabulary.TryGetValue(special, out var known) ? known : nextId++;
            added.Add(new AddedToken(id, special, Special: true, SingleWord: false,
                LeftStrip: options.RobertaProcessing && special == "<mask>", RightStrip: false, Normalized: false));
        }
        IPostProcessor? post = null;
        if (options.RobertaProcessing)
        {
            int IdOf(string token) => added.FirstOrDefault(a => a.Content == token)?.Id
                ?? throw new TokenizerFormatException(vocabJsonPath, $"RoBERTa's template needs the special token {token}.");
            post = new RobertaPostProcessor("<s>", IdOf("<s>"), "</s>", IdOf("</s>"));
        }
        return new Tokenizer(null, new ByteLevelPreTokenizer(options.AddPrefixSpace, useRegex: true), model, post,
            new ByteLevelDecoder(), added, padTokenId: added.FirstOrDefault(a => a.Content == "<pad>")?.Id);
    }

    private static Dictionary<string, int> ReadVocabulary(string path)
    {
        try
        {
            using var document = JsonDocument.Parse(File.ReadAllText(path));
            if (document.RootElement.ValueKind != JsonValueKind.Object)
                throw new TokenizerFormatException(path, "vocab.json should be an object mapping tokens to ids.");
            var vocabulary = new Dictionary<string, int>(StringComparer.Ordinal);
            foreach (var entry in document.RootElement.EnumerateObject())
            {
                if (entry.Value.ValueKind != JsonValueKind.Number || !entry.Value.TryGetInt32(out var id) || id < 0
                    || id > Vocabulary.MaxId)
                    throw new TokenizerFormatException(path,
                        $"the id of token '{entry.Name}' is not an integer in [0, {Vocabulary.MaxId}].");
                vocabulary[entry.Name] = id;
            }
            return vocabulary;
        }
        catch (JsonException e)
        {
            throw new TokenizerFormatException(path, $"not valid JSON: {e.Message}", e);
        }
    }

    private static List<(string Left, string Right)> ReadMerges(string path)
    {
        var merges = new List<(string, string)>();
        var lineNumber = 0;
        foreach (var line in File.ReadLines(path))
        {
            lineNumber++;
            if (line.Length == 0 || line.StartsWith("#version", StringComparison.Ordinal))
                continue;
            var parts = line.Split(' ');
            if (parts.Length != 2)
                throw new TokenizerFormatException(path,
                    $"line {lineNumber} should be two tokens separated by one space, but is '{line}'.");
            merges.Add((parts[0], parts[1]));
        }
        return merges;
    }
}
