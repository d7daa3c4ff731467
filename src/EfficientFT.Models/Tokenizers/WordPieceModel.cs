namespace EfficientFT.Models.Tokenizers;

/// <summary>
/// WordPiece: greedy longest-match-first from the start of the word, continuation pieces carrying the prefix ("##");
/// a word with any part that matches nothing, or longer than the limit, is a single unknown token.
/// </summary>
internal sealed class WordPieceModel : ITokenizerModel
{
    private readonly string _unknownToken;
    private readonly string _prefix;
    private readonly int _maxInputCharsPerWord;

    public WordPieceModel(Vocabulary vocabulary, string unknownToken, string continuingSubwordPrefix,
        int maxInputCharsPerWord)
    {
        Vocabulary = vocabulary;
        _unknownToken = unknownToken;
        _prefix = continuingSubwordPrefix;
        _maxInputCharsPerWord = maxInputCharsPerWord;
    }

    public Vocabulary Vocabulary { get; }

    public string? UnknownToken => _unknownToken;

    public void Tokenize(string word, List<int> ids, List<string> tokens)
    {
        if (word.Length > _maxInputCharsPerWord && UnicodeChars.CodePointCount(word) > _maxInputCharsPerWord)
        {
            AddUnknown(ids, tokens);
            return;
        }
        if (Vocabulary.TryGetId(word, out var whole))
        {
            ids.Add(whole);
            tokens.Add(Vocabulary.TokenOf(whole)!);
            return;
        }

        var first = ids.Count;
        var candidate = new char[_prefix.Length + word.Length];
        _prefix.CopyTo(candidate);
        for (var start = 0; start < word.Length;)
        {
            word.AsSpan(start).CopyTo(candidate.AsSpan(_prefix.Length));
            var offset = start == 0 ? _prefix.Length : 0;
            var end = word.Length;
            var found = -1;
            while (end > start)
            {
                if (Vocabulary.TryGetId(candidate.AsSpan(offset, _prefix.Length - offset + end - start), out var id))
                {
                    found = id;
                    break;
                }
                end -= end - 2 >= start && char.IsLowSurrogate(word[end - 1]) && char.IsHighSurrogate(word[end - 2])
                    ? 2 : 1;
            }
            if (found < 0)
            {
                ids.RemoveRange(first, ids.Count - first);
                tokens.RemoveRange(first, tokens.Count - first);
                AddUnknown(ids, tokens);
                return;
            }
            ids.Add(found);
            tokens.Add(Vocabulary.TokenOf(found)!);
            start = end;
        }
    }

    private void AddUnknown(List<int> ids, List<string> tokens)
    {
        if (!Vocabulary.TryGetId(_unknownToken, out var id))
            throw new InvalidOperationException(
                $"WordPiece: the unknown token '{_unknownToken}' is not in the vocabulary.");
        ids.Add(id);
        tokens.Add(_unknownToken);
    }
}
