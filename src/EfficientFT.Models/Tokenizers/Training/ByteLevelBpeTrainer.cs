namespace EfficientFT.Models.Tokenizers.Training;

/// <summary>
/// Trains a byte-level BPE vocabulary as Hugging Face's <c>ByteLevelBPETokenizer.train</c> (tokenizers' BpeTrainer)
/// does: the texts are split by the same ByteLevel pre-tokenizer the trained tokenizer runs (GPT-2 regex, no prefix
/// space, bytes as GPT-2's byte-level characters), distinct words are counted, and starting from all 256 byte
/// symbols the most frequent adjacent pair is merged until the vocabulary is full or no pair occurs
/// <see cref="ByteLevelBpeTrainerOptions.MinFrequency"/> times.
/// <para>
/// Ties go to the pair of smaller ids (left id first, then right), BpeTrainer's rule, so a run depends only on its
/// inputs. Pair counts are updated from the words each merge touches rather than recounted, which is what makes an
/// 8k vocabulary over megabytes of text take seconds: each merge costs the occurrences of its pair, not the corpus.
/// </para>
/// </summary>
public static class ByteLevelBpeTrainer
{
    /// <summary>Trains on <paramref name="texts"/> (each a document; words never span two).</summary>
    /// <exception cref="ArgumentException">The vocabulary size leaves no room for the special tokens and the 256 bytes.</exception>
    public static ByteLevelBpeVocabulary Train(IEnumerable<string> texts, ByteLevelBpeTrainerOptions options)
    {
        ArgumentNullException.ThrowIfNull(texts);
        ArgumentNullException.ThrowIfNull(options);
        var specials = options.SpecialTokens;
        var leading = specials.Leading;
        var minimum = leading.Count + 256 + 1;
        if (options.VocabSize < minimum)
            throw new ArgumentException($"A byte-level BPE vocabulary needs at least {minimum} entries ({leading.Count} special tokens, 256 bytes, {specials.Mask}); got {options.VocabSize}.");
        if (options.MinFrequency < 1)
            throw new ArgumentException($"The minimum pair frequency must be at least 1, got {options.MinFrequency}.");

        var tokens = new List<string>(options.VocabSize);
        tokens.AddRange(leading);
        // BpeTrainer orders the initial alphabet by code point.
        tokens.AddRange(Enumerable.Range(0, 256).Select(b => ByteLevelAlphabet.CharOf((byte)b).ToString()).Order(StringComparer.Ordinal));
        var ids = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < tokens.Count; i++)
            ids[tokens[i]] = i;

        var (words, counts) = CountWords(texts, ids);
        var merges = new List<(int Left, int Right)>();
        new PairMerger(words, counts).Run(tokens, ids, merges, options.VocabSize - 1, options.MinFrequency);
        tokens.Add(specials.Mask);
        return new ByteLevelBpeVocabulary(tokens, merges.Select(m => (tokens[m.Left], tokens[m.Right])).ToList(), specials);
    }

    private static (int[][] Words, long[] Counts) CountWords(IEnumerable<string> texts, Dictionary<string, int> ids)
    {
        var preTokenizer = new ByteLevelPreTokenizer(addPrefixSpace: false, useRegex: true);
        var counts = new Dictionary<string, long>(StringComparer.Ordinal);
        var pieces = new List<Piece>();
        foreach (var text in texts)
        {
            pieces.Clear();
            preTokenizer.PreTokenize(new Piece(text, true), pieces);
            foreach (var piece in pieces)
            {
                if (piece.Text.Length == 0) continue;
                counts[piece.Text] = counts.GetValueOrDefault(piece.Text) + 1;
            }
        }
        // Word order only affects which words a merge visits first, never the counts, so the dictionary's is fine.
        var words = new int[counts.Count][];
        var weights = new long[counts.Count];
        var w = 0;
        foreach (var (word, count) in counts)
        {
            words[w] = word.Select(c => ids[c.ToString()]).ToArray();
            weights[w++] = count;
        }
        return (words, weights);
    }

    /// <summary>The merge loop over counted words, with pair counts and pair → word indices kept up to date.</summary>
    private sealed class PairMerger(int[][] words, long[] counts)
    {
        private readonly int[] _lengths = words.Select(w => w.Length).ToArray();
        private readonly Dictionary<long, long> _pairCounts = [];
        private readonly Dictionary<long, List<int>> _wordsWith = [];
        private readonly HashSet<long> _grown = [];

        private static long Pair(int left, int right) => ((long)left << 32) | (uint)right;

        public void Run(List<string> tokens, Dictionary<string, int> ids, List<(int, int)> merges, int vocabLimit, int minFrequency)
        {
            for (var w = 0; w < words.Length; w++)
                for (var i = 0; i + 1 < _lengths[w]; i++)
                    Change(Pair(words[w][i], words[w][i + 1]), w, +1);
            // Highest count first; on equal counts the smaller pair, i.e. smaller left id, then smaller right id.
            var queue = new PriorityQueue<long, (long Count, long Pair)>(Comparer<(long Count, long Pair)>.Create(
                (x, y) => x.Count != y.Count ? y.Count.CompareTo(x.Count) : x.Pair.CompareTo(y.Pair)));
            foreach (var (pair, count) in _pairCounts)
                queue.Enqueue(pair, (count, pair));
            _grown.Clear();

            while (tokens.Count < vocabLimit && queue.TryDequeue(out var top, out var queued))
            {
                // Entries are not updated when a merge lowers their count; a stale one goes back with its true count.
                var count = _pairCounts.GetValueOrDefault(top);
                if (count != queued.Count)
                {
                    if (count > 0) queue.Enqueue(top, (count, top));
                    continue;
                }
                if (count < minFrequency) break;

                var (left, right) = ((int)(top >> 32), (int)top);
                var merged = tokens[left] + tokens[right];
                // Two merge orders can spell the same token ("ab"+"c", "a"+"bc"); it keeps its first id, as in BpeTrainer.
                if (!ids.TryGetValue(merged, out var id))
                {
                    id = tokens.Count;
                    tokens.Add(merged);
                    ids[merged] = id;
                }
                merges.Add((left, right));
                foreach (var w in _wordsWith[top])
                    MergeIn(w, left, right, id);
                _pairCounts.Remove(top);
                _wordsWith.Remove(top);
                foreach (var pair in _grown)
                    if (_pairCounts.GetValueOrDefault(pair) is var grown and > 0)
                        queue.Enqueue(pair, (grown, pair));
                _grown.Clear();
            }
        }

        /// <summary>
        /// Replaces every non-overlapping (left, right) in word <paramref name="w"/>, left to right, by
        /// <paramref name="merged"/>, moving the counts of the neighbouring pairs over to the new token.
        /// </summary>
        private void MergeIn(int w, int left, int right, int merged)
        {
            var symbols = words[w];
            var length = _lengths[w];
            // Reading at i and writing at out ≤ i lets the merge run in place; symbols[out - 1] is the (possibly
            // just merged) left neighbour, symbols[i + 2] the untouched right one.
            var write = 0;
            for (var i = 0; i < length;)
            {
                if (i + 1 < length && symbols[i] == left && symbols[i + 1] == right)
                {
                    if (write > 0)
                    {
                        Change(Pair(symbols[write - 1], left), w, -1);
                        Change(Pair(symbols[write - 1], merged), w, +1);
                    }
                    if (i + 2 < length)
                    {
                        Change(Pair(right, symbols[i + 2]), w, -1);
                        Change(Pair(merged, symbols[i + 2]), w, +1);
                    }
                    symbols[write++] = merged;
                    i += 2;
                }
                else
                {
                    symbols[write++] = symbols[i++];
                }
            }
            _lengths[w] = write;
        }

        private void Change(long pair, int w, int sign)
        {
            _pairCounts[pair] = _pairCounts.GetValueOrDefault(pair) + sign * counts[w];
            if (sign < 0) return;
            _grown.Add(pair);
            if (!_wordsWith.TryGetValue(pair, out var list))
                _wordsWith[pair] = list = [];
            // A word adds a pair several times in a row when it holds it more than once; once is enough to visit it.
            if (list.Count == 0 || list[^1] != w) list.Add(w);
        }
    }
}
