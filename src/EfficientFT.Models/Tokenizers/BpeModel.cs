using System.Collections.Concurrent;
using System.Text;

namespace EfficientFT.Models.Tokenizers;

/// <summary>
/// Byte-pair encoding as HF's tokenizers runs it: start from the word's characters (or, with byte fallback, the
/// &lt;0xNN&gt; tokens of characters missing from the vocabulary), then repeatedly apply the lowest-ranked merge
/// present, leftmost first among equal ranks.
/// </summary>
internal sealed class BpeModel : ITokenizerModel
{
    // HF's defaults: a bounded cache that stops growing when full, and no caching of very long words.
    private const int CacheCapacity = 10_000;
    private const int MaxCachedLength = 256;

    [ThreadStatic] private static PriorityQueue<long, long>? _queue;

    private readonly Dictionary<long, long> _merges;
    private readonly BpeOptions _options;
    private readonly int _unknownId;
    private readonly int[] _byteIds;
    private readonly ConcurrentDictionary<string, int[]> _cache = new(StringComparer.Ordinal);

    // ConcurrentDictionary.Count takes every one of its locks (up to 1,024), which cost each cache miss more than
    // encoding the word; the entries are counted here instead.
    private int _cached;

    /// <exception cref="FormatException">A merge names a token, or produces one, that is not in the vocabulary.</exception>
    public BpeModel(Vocabulary vocabulary, IReadOnlyList<(string Left, string Right)> merges, BpeOptions options)
    {
        Vocabulary = vocabulary;
        _options = options;
        _unknownId = options.UnknownToken is { } unk && vocabulary.TryGetId(unk, out var id) ? id : -1;

        var prefixLength = options.ContinuingSubwordPrefix?.Length ?? 0;
        _merges = new Dictionary<long, long>(merges.Count);
        for (var rank = 0; rank < merges.Count; rank++)
        {
            var (left, right) = merges[rank];
            var leftId = Require(left, rank);
            var rightId = Require(right, rank);
            if (right.Length < prefixLength)
                throw new FormatException($"merge {rank} ('{left}' '{right}') is shorter than the subword prefix.");
            var merged = Require(left + right[prefixLength..], rank);
            // A pair listed twice keeps its last rank, as tokenizers' BpeBuilder, which collects the merges into a map.
            _merges[Pair(leftId, rightId)] = ((long)rank << 32) | (uint)merged;
        }

        _byteIds = new int[256];
        for (var b = 0; b < 256; b++)
            _byteIds[b] = vocabulary.TryGetId($"<0x{b:X2}>", out var byteId) ? byteId : -1;

        int Require(string token, int rank) => vocabulary.TryGetId(token, out var tokenId) ? tokenId
            : throw new FormatException($"merge {rank} uses '{token}', which is not in the vocabulary.");
    }

    public Vocabulary Vocabulary { get; }

    public string? UnknownToken => _options.UnknownToken;

    public void Tokenize(string word, List<int> ids, List<string> tokens)
    {
        if (_options.IgnoreMerges && Vocabulary.TryGetId(word, out var whole))
        {
            ids.Add(whole);
            tokens.Add(Vocabulary.TokenOf(whole)!);
            return;
        }
        if (!_cache.TryGetValue(word, out var result))
        {
            result = Encode(word);
            if (word.Length < MaxCachedLength && Volatile.Read(ref _cached) < CacheCapacity && _cache.TryAdd(word, result))
                Interlocked.Increment(ref _cached);
        }
        foreach (var id in result)
        {
            ids.Add(id);
            tokens.Add(Vocabulary.TokenOf(id)!);
        }
    }

    private int[] Encode(string word)
    {
        var symbols = InitialSymbols(word);
        MergeAll(symbols);
        var result = new List<int>(symbols.Count);
        foreach (var symbol in symbols)
            if (symbol.Alive)
                result.Add(symbol.Id);
        return result.ToArray();
    }

    private List<Symbol> InitialSymbols(string word)
    {
        var symbols = new List<Symbol>(word.Length);
        var pendingUnknown = false;
        var prefix = _options.ContinuingSubwordPrefix;
        var suffix = _options.EndOfWordSuffix;
        for (var i = 0; i < word.Length;)
        {
            UnicodeChars.CodePointAt(word, i, out var length);
            var first = i == 0;
            var last = i + length == word.Length;
            int id;
            string? decorated = null;
            bool found;
            if ((prefix is null || first) && (suffix is null || !last))
            {
                found = Vocabulary.TryGetId(word.AsSpan(i, length), out id);
            }
            else
            {
                decorated = (first ? "" : prefix) + word.Substring(i, length) + (last ? suffix : "");
                found = Vocabulary.TryGetId(decorated, out id);
            }
            i += length;

            if (found)
            {
                if (pendingUnknown)
                {
                    Add(symbols, _unknownId);
                    pendingUnknown = false;
                }
                Add(symbols, id);
                continue;
            }
            // HF falls back on the bytes of the decorated symbol, and leaves a pending unknown token in place.
            if (_options.ByteFallback && TryAddBytes(symbols, decorated ?? word.Substring(i - length, length)))
                continue;
            if (_options.UnknownToken is null)
                continue;
            if (_unknownId < 0)
                throw new InvalidOperationException(
                    $"BPE: the unknown token '{_options.UnknownToken}' is not in the vocabulary.");
            if (pendingUnknown && !_options.FuseUnknown)
                Add(symbols, _unknownId);
            pendingUnknown = true;
        }
        if (pendingUnknown)
            Add(symbols, _unknownId);
        return symbols;
    }

    private bool TryAddBytes(List<Symbol> symbols, string text)
    {
        var bytes = System.Text.Encoding.UTF8.GetBytes(text);
        foreach (var b in bytes)
            if (_byteIds[b] < 0)
                return false;
        foreach (var b in bytes)
            Add(symbols, _byteIds[b]);
        return true;
    }

    private static void Add(List<Symbol> symbols, int id)
    {
        var index = symbols.Count;
        if (index > 0)
            symbols[index - 1] = symbols[index - 1] with { Next = index };
        symbols.Add(new Symbol(id, index - 1, -1, true));
    }

    private void MergeAll(List<Symbol> symbols)
    {
        var queue = _queue ??= new PriorityQueue<long, long>();
        queue.Clear();
        for (var i = 0; i + 1 < symbols.Count; i++)
            Enqueue(queue, i, symbols[i].Id, symbols[i + 1].Id);

        while (queue.TryDequeue(out var entry, out _))
        {
            var pos = (int)(entry >> 32);
            var newId = (int)entry;
            var current = symbols[pos];
            if (!current.Alive || current.Next < 0)
                continue;
            var rightPos = current.Next;
            var right = symbols[rightPos];
            // Entries go stale when a neighbour merged first; only one that still produces its token may apply.
            if (!_merges.TryGetValue(Pair(current.Id, right.Id), out var merge) || (int)merge != newId)
                continue;

            current = current with { Id = newId, Next = right.Next };
            symbols[pos] = current;
            symbols[rightPos] = right with { Alive = false };
            if (right.Next >= 0)
                symbols[right.Next] = symbols[right.Next] with { Prev = pos };
            if (current.Prev >= 0)
                Enqueue(queue, current.Prev, symbols[current.Prev].Id, newId);
            if (current.Next >= 0)
                Enqueue(queue, pos, newId, symbols[current.Next].Id);
        }
    }

    private void Enqueue(PriorityQueue<long, long> queue, int pos, int left, int right)
    {
        if (_merges.TryGetValue(Pair(left, right), out var merge))
            queue.Enqueue(((long)pos << 32) | (uint)(int)merge, (merge & ~0xFFFFFFFFL) | (uint)pos);
    }

    private static long Pair(int left, int right) => ((long)left << 32) | (uint)right;

    private readonly record struct Symbol(int Id, int Prev, int Next, bool Alive);
}
