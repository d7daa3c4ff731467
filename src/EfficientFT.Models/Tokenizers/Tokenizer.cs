namespace EfficientFT.Models.Tokenizers;

/// <summary>
/// A Hugging Face tokenizer (tokenizer.json) reimplemented: added tokens, normalizer, pre-tokenizer, model (BPE,
/// WordPiece, WordLevel), post-processor and decoder, matching HF's <c>tokenizers</c> library id for id. Offsets are
/// not tracked, and the file's own <c>truncation</c> and <c>padding</c> sections are not applied (transformers overrides
/// them per call too); <see cref="EncodeBatch"/> takes them as arguments. Instances are immutable and thread-safe.
/// </summary>
public sealed class Tokenizer
{
    private readonly IPreTokenizer? _preTokenizer;
    private readonly ITokenizerModel _model;
    private readonly IPostProcessor _postProcessor;
    private readonly ITokenDecoder? _decoder;
    private readonly AddedVocabulary _added;

    internal Tokenizer(INormalizer? normalizer, IPreTokenizer? preTokenizer, ITokenizerModel model,
        IPostProcessor? postProcessor, ITokenDecoder? decoder, IEnumerable<AddedToken> addedTokens, int? padTokenId)
    {
        _preTokenizer = preTokenizer;
        _model = model;
        _postProcessor = postProcessor ?? new PassThroughPostProcessor();
        _decoder = decoder;
        _added = new AddedVocabulary(addedTokens, normalizer);

        VocabSize = model.Vocabulary.Count + _added.Tokens.Count(t => !model.Vocabulary.TryGetId(t.Content, out _));
        var (before, after) = _postProcessor.SingleSequenceMarkers;
        PadTokenId = padTokenId ?? SpecialTokenSpelled("[PAD]", "<pad>", "<|pad|>", "<|padding|>");
        UnkTokenId = model.UnknownToken is { } unk ? TokenToId(unk) : null;
        MaskTokenId = SpecialTokenSpelled("[MASK]", "<mask>", "<|mask|>");
        BosTokenId = before ?? SpecialTokenSpelled("<s>", "<|begin_of_text|>", "<bos>", "<|startoftext|>",
            "<|endoftext|>");
        EosTokenId = after ?? SpecialTokenSpelled("</s>", "<|end_of_text|>", "<eos>", "<|endoftext|>");
    }

    /// <summary>Distinct tokens: the model's vocabulary plus added tokens outside it (the embedding table's rows).</summary>
    public int VocabSize { get; }

    /// <summary>The padding id from the file's <c>padding</c> section, else a special token spelled like a pad token.</summary>
    public int? PadTokenId { get; }

    /// <summary>The model's unknown token, if it has one.</summary>
    public int? UnkTokenId { get; }

    /// <summary>A special token spelled like a mask token ([MASK], &lt;mask&gt;), if any.</summary>
    public int? MaskTokenId { get; }

    /// <summary>
    /// The token the post-processor puts before a single sequence ([CLS] for BERT, &lt;s&gt; for RoBERTa and LLaMA),
    /// else a special token spelled like a beginning-of-sequence marker (&lt;|endoftext|&gt; for GPT-2).
    /// </summary>
    public int? BosTokenId { get; }

    /// <summary>
    /// The token the post-processor puts after a single sequence ([SEP], &lt;/s&gt;), else a special token spelled
    /// like an end-of-sequence marker (&lt;/s&gt; for Mistral, &lt;|endoftext|&gt; for GPT-2).
    /// </summary>
    public int? EosTokenId { get; }

    /// <summary>Loads a tokenizer.json file.</summary>
    /// <exception cref="TokenizerFormatException">The file is malformed or uses an unsupported component.</exception>
    public static Tokenizer FromFile(string path) => TokenizerJsonReader.Read(File.ReadAllText(path), path);

    /// <summary>Loads tokenizer.json content.</summary>
    /// <exception cref="TokenizerFormatException">The JSON is malformed or uses an unsupported component.</exception>
    public static Tokenizer FromJson(string json) => TokenizerJsonReader.Read(json, "tokenizer JSON text");

    /// <summary>
    /// Builds a GPT-2 style byte-level BPE tokenizer from a <c>vocab.json</c> (token → id) and a <c>merges.txt</c>
    /// (one "left right" pair per line, highest priority first, an optional "#version" line at the top).
    /// </summary>
    /// <exception cref="TokenizerFormatException">Either file is malformed, or a merge uses an unknown token.</exception>
    public static Tokenizer FromVocabAndMerges(string vocabJsonPath, string mergesPath,
        ByteLevelBpeOptions? options = null) =>
        VocabMergesReader.Read(vocabJsonPath, mergesPath, options ?? new ByteLevelBpeOptions());

    /// <summary>Encodes one sequence; with <paramref name="addSpecialTokens"/> the post-processor adds e.g. [CLS]/[SEP].</summary>
    public Encoding Encode(string text, bool addSpecialTokens = true)
    {
        ArgumentNullException.ThrowIfNull(text);
        return Encoding.Concat(_postProcessor.Process([EncodeSequence(text, 0)], addSpecialTokens));
    }

    /// <summary>Encodes a sequence pair (e.g. premise and hypothesis) as the model's pair template lays it out.</summary>
    public Encoding Encode(string text, string pair, bool addSpecialTokens = true)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(pair);
        return Encoding.Concat(
            _postProcessor.Process([EncodeSequence(text, 0), EncodeSequence(pair, 1)], addSpecialTokens));
    }

    /// <summary>
    /// Encodes single sequences and pairs into one rectangular batch. With <paramref name="maxLength"/>, each input is
    /// truncated so that it fits together with the special tokens the post-processor adds; rows are then padded on
    /// the right with <paramref name="padToken"/> (default: <see cref="PadTokenId"/>), attention mask 0, type id 0.
    /// </summary>
    /// <exception cref="ArgumentException">
    /// The arguments do not fit together (e.g. MaxLength padding without a maximum, no pad token), truncation cannot
    /// make an input fit, or without padding the rows come out of different lengths.
    /// </exception>
    public BatchEncoding EncodeBatch(IReadOnlyList<(string First, string? Second)> inputs, int? maxLength = null,
        TruncationStrategy truncation = TruncationStrategy.LongestFirst, PaddingStrategy padding = PaddingStrategy.Longest,
        string? padToken = null, bool addSpecialTokens = true)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        if (maxLength is <= 0)
            throw new ArgumentOutOfRangeException(nameof(maxLength), maxLength, "The maximum length must be positive.");
        if (padding == PaddingStrategy.MaxLength && maxLength is null)
            throw new ArgumentException("MaxLength padding needs a maxLength.", nameof(padding));
        var (padId, padString) = padding == PaddingStrategy.None ? (0, "") : ResolvePad(padToken);

        var encodings = new Encoding[inputs.Count];
        for (var i = 0; i < inputs.Count; i++)
        {
            var (text, pair) = inputs[i];
            ArgumentNullException.ThrowIfNull(text);
            var first = EncodeSequence(text, 0);
            var second = pair is null ? null : EncodeSequence(pair, 1);
            if (maxLength is { } max)
            {
                var added = addSpecialTokens ? _postProcessor.AddedTokens(second is not null) : 0;
                if (max < added)
                    throw new ArgumentException(
                        $"maxLength {max} leaves no room next to the {added} special tokens of input {i}.",
                        nameof(maxLength));
                try
                {
                    (first, second) = PairTruncation.Apply(first, second, max - added, truncation);
                }
                catch (ArgumentException e)
                {
                    throw new ArgumentException($"input {i}: {e.Message}", nameof(inputs), e);
                }
            }
            List<Encoding> sequences = second is null ? [first] : [first, second];
            encodings[i] = Encoding.Concat(_postProcessor.Process(sequences, addSpecialTokens));
        }

        var length = padding switch
        {
            PaddingStrategy.MaxLength => maxLength!.Value,
            _ => encodings.Length == 0 ? 0 : encodings.Max(e => e.Length),
        };
        if (padding == PaddingStrategy.None && encodings.Any(e => e.Length != length))
            throw new ArgumentException(
                "Without padding every input must encode to the same length; use PaddingStrategy.Longest.",
                nameof(padding));
        for (var i = 0; i < encodings.Length; i++)
            encodings[i] = encodings[i].Pad(length, padId, padString);
        return new BatchEncoding(encodings, length);
    }

    /// <summary>
    /// Turns ids back into text through the decoder. Ids outside the vocabulary are skipped; with
    /// <paramref name="skipSpecialTokens"/> so are special added tokens (for BERT that includes [UNK]).
    /// </summary>
    public string Decode(IReadOnlyList<int> ids, bool skipSpecialTokens = false)
    {
        ArgumentNullException.ThrowIfNull(ids);
        var tokens = new List<string>(ids.Count);
        foreach (var id in ids)
        {
            if (IdToToken(id) is not { } token || (skipSpecialTokens && _added.IsSpecial(token)))
                continue;
            tokens.Add(token);
        }
        return _decoder is null ? string.Join(' ', tokens) : string.Concat(_decoder.Decode(tokens));
    }

    public int? TokenToId(string token)
    {
        ArgumentNullException.ThrowIfNull(token);
        if (_added.TryGetId(token, out var id) || _model.Vocabulary.TryGetId(token, out id))
            return id;
        return null;
    }

    public string? IdToToken(int id) => _added.ById(id)?.Content ?? _model.Vocabulary.TokenOf(id);

    private Encoding EncodeSequence(string text, int typeId)
    {
        var segments = new List<Segment>();
        _added.Split(text, segments);
        var ids = new List<int>(text.Length / 3 + 4);
        var tokens = new List<string>(ids.Capacity);
        var pieces = new List<Piece>();
        foreach (var segment in segments)
        {
            if (segment.TokenId >= 0)
            {
                ids.Add(segment.TokenId);
                tokens.Add(segment.Text);
                continue;
            }
            var piece = new Piece(segment.Text, segment.AtTextStart);
            pieces.Clear();
            if (_preTokenizer is null)
                pieces.Add(piece);
            else
                _preTokenizer.PreTokenize(piece, pieces);
            foreach (var word in pieces)
                if (word.Text.Length > 0)
                    _model.Tokenize(word.Text, ids, tokens);
        }
        return Encoding.FromTokens(ids, tokens, typeId);
    }

    private (int Id, string Token) ResolvePad(string? padToken)
    {
        if (padToken is not null)
            return TokenToId(padToken) is { } id ? (id, padToken)
                : throw new ArgumentException($"The pad token '{padToken}' is not in the vocabulary.", nameof(padToken));
        if (PadTokenId is { } padId)
            return (padId, IdToToken(padId) ?? "");
        throw new ArgumentException(
            "This tokenizer has no pad token; pass padToken (GPT-2 style models often pad with their end-of-text token).",
            nameof(padToken));
    }

    private int? SpecialTokenSpelled(params string[] spellings)
    {
        foreach (var spelling in spellings)
            if (_added.TryGetId(spelling, out var id) && _added.ById(id) is { Special: true })
                return id;
        return null;
    }
}
