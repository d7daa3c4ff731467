using System.Text;
using System.Text.Json;

namespace EfficientFT.Models.Tokenizers;

/// <summary>
/// Builds a <see cref="Tokenizer"/> from tokenizer.json. Every shape check goes through here so that a bad or
/// unsupported file fails with a <see cref="TokenizerFormatException"/> naming the file and the component.
/// </summary>
internal sealed class TokenizerJsonReader
{
    private static readonly string[] Normalizers =
        ["BertNormalizer", "NFC", "NFD", "NFKC", "NFKD", "Lowercase", "Prepend", "Replace", "Strip", "StripAccents",
         "Sequence"];
    private static readonly string[] PreTokenizers =
        ["ByteLevel", "Split", "BertPreTokenizer", "Metaspace", "Whitespace", "WhitespaceSplit", "Digits",
         "Punctuation", "CharDelimiterSplit", "Sequence"];
    private static readonly string[] Models = ["BPE", "WordPiece", "WordLevel"];
    private static readonly string[] PostProcessors =
        ["TemplateProcessing", "BertProcessing", "RobertaProcessing", "ByteLevel", "Sequence"];
    private static readonly string[] Decoders =
        ["ByteLevel", "WordPiece", "Metaspace", "Replace", "ByteFallback", "Fuse", "Strip", "BPEDecoder", "Sequence"];

    private readonly string _origin;

    private TokenizerJsonReader(string origin) => _origin = origin;

    public static Tokenizer Read(string json, string origin)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json);
        }
        catch (JsonException e)
        {
            throw new TokenizerFormatException(origin, $"not valid JSON: {e.Message}", e);
        }
        using (document)
            return new TokenizerJsonReader(origin).ReadTokenizer(document.RootElement);
    }

    private Tokenizer ReadTokenizer(JsonElement root)
    {
        if (root.ValueKind != JsonValueKind.Object)
            throw Error($"the top level should be a JSON object, but is {root.ValueKind}.");
        // The model first: T5's and XLM-R's files (Unigram) would otherwise be refused for their Precompiled
        // normalizer, which says nothing of the model that is missing.
        var model = ReadModel(Required(root, "model", "tokenizer"));
        var normalizer = Optional(root, "normalizer", "tokenizer") is { } n ? ReadNormalizer(n, "normalizer") : null;
        var preTokenizer = Optional(root, "pre_tokenizer", "tokenizer") is { } p
            ? ReadPreTokenizer(p, "pre_tokenizer") : null;
        var postProcessor = Optional(root, "post_processor", "tokenizer") is { } pp
            ? ReadPostProcessor(pp, "post_processor") : null;
        var decoder = Optional(root, "decoder", "tokenizer") is { } d ? ReadDecoder(d, "decoder") : null;
        var addedTokens = Optional(root, "added_tokens", "tokenizer") is { } a ? ReadAddedTokens(a) : [];
        int? padId = Optional(root, "padding", "tokenizer") is { } padding
            ? Int(padding, "pad_id", "padding", fallback: 0) : null;
        return new Tokenizer(normalizer, preTokenizer, model, postProcessor, decoder, addedTokens, padId);
    }

    private INormalizer ReadNormalizer(JsonElement e, string where)
    {
        var type = TypeOf(e, where, Normalizers, "normalizer");
        where = $"{where} ({type})";
        switch (type)
        {
            case "BertNormalizer":
                var lowercase = Bool(e, "lowercase", where, fallback: true);
                return new BertNormalizer(Bool(e, "clean_text", where, fallback: true),
                    Bool(e, "handle_chinese_chars", where, fallback: true),
                    // HF: an unset strip_accents follows lowercase, as the original uncased BERT did.
                    OptionalBool(e, "strip_accents", where) ?? lowercase, lowercase);
            case "NFC":
                return new UnicodeFormNormalizer(NormalizationForm.FormC);
            case "NFD":
                return new UnicodeFormNormalizer(NormalizationForm.FormD);
            case "NFKC":
                return new UnicodeFormNormalizer(NormalizationForm.FormKC);
            case "NFKD":
                return new UnicodeFormNormalizer(NormalizationForm.FormKD);
            case "Lowercase":
                return new LowercaseNormalizer();
            case "Prepend":
                return new PrependNormalizer(String(e, "prepend", where));
            case "Replace":
                return ReadReplace(e, where);
            case "Strip":
                return new StripNormalizer(Bool(e, "strip_left", where, fallback: true),
                    Bool(e, "strip_right", where, fallback: true));
            case "StripAccents":
                return new StripAccentsNormalizer();
            default:
                return new SequenceNormalizer(
                    Array(e, "normalizers", where).Select((x, i) => ReadNormalizer(x, $"{where}[{i}]")).ToList());
        }
    }

    private IPreTokenizer ReadPreTokenizer(JsonElement e, string where)
    {
        var type = TypeOf(e, where, PreTokenizers, "pre_tokenizer");
        where = $"{where} ({type})";
        switch (type)
        {
            case "ByteLevel":
                return new ByteLevelPreTokenizer(Bool(e, "add_prefix_space", where, fallback: true),
                    Bool(e, "use_regex", where, fallback: true));
            case "Split":
                var behavior = Behavior(e, "behavior", where, SplitBehavior.Isolated);
                var invert = Bool(e, "invert", where, fallback: false);
                var (regex, literal) = Pattern(Required(e, "pattern", where), $"{where}.pattern");
                return regex is not null ? SplitPreTokenizer.ForRegex(regex, behavior, invert)
                    : SplitPreTokenizer.ForLiteral(literal!, behavior, invert);
            case "BertPreTokenizer":
                return new BertPreTokenizer();
            case "Metaspace":
                return new MetaspacePreTokenizer(Char(e, "replacement", where, '\u2581'),
                    ReadPrependScheme(e, where), Bool(e, "split", where, fallback: true));
            case "Whitespace":
                return new WhitespacePreTokenizer();
            case "WhitespaceSplit":
                return CodePointPreTokenizer.WhitespaceSplit();
            case "Digits":
                return CodePointPreTokenizer.Digits(Bool(e, "individual_digits", where, fallback: false));
            case "Punctuation":
                return CodePointPreTokenizer.Punctuation(Behavior(e, "behavior", where, SplitBehavior.Isolated));
            case "CharDelimiterSplit":
                return CodePointPreTokenizer.CharDelimiter(Char(e, "delimiter", where, null));
            default:
                return new SequencePreTokenizer(
                    Array(e, "pretokenizers", where).Select((x, i) => ReadPreTokenizer(x, $"{where}[{i}]")).ToList());
        }
    }

    private ITokenizerModel ReadModel(JsonElement e)
    {
        const string where = "model";
        if (e.ValueKind != JsonValueKind.Object)
            throw Error($"{where} should be an object, but is {e.ValueKind}.");
        // Old files leave out the model's type; HF then recognises the model by its fields.
        var type = e.TryGetProperty("type", out _) ? TypeOf(e, where, Models, "model")
            : e.TryGetProperty("merges", out _) ? "BPE"
            : e.TryGetProperty("max_input_chars_per_word", out _) ? "WordPiece"
            : e.TryGetProperty("vocab", out var v) && v.ValueKind == JsonValueKind.Object ? "WordLevel"
            : throw Error("the model has no 'type' and its fields match none of: " + string.Join(", ", Models) + ".");
        var model = $"{where} ({type})";
        var vocabulary = ReadVocabulary(Required(e, "vocab", model), $"{model}.vocab");
        switch (type)
        {
            case "BPE":
                if (OptionalDouble(e, "dropout", model) is > 0)
                    throw Error($"{model}: BPE dropout is not supported; encoding here is deterministic.");
                var options = new BpeOptions(
                    NonEmpty(OptionalString(e, "unk_token", model)),
                    NonEmpty(OptionalString(e, "continuing_subword_prefix", model)),
                    NonEmpty(OptionalString(e, "end_of_word_suffix", model)),
                    Bool(e, "fuse_unk", model, fallback: false),
                    Bool(e, "byte_fallback", model, fallback: false),
                    Bool(e, "ignore_merges", model, fallback: false));
                var merges = ReadMerges(Optional(e, "merges", model), $"{model}.merges");
                try
                {
                    return new BpeModel(vocabulary, merges, options);
                }
                catch (FormatException ex)
                {
                    throw Error($"{model}: {ex.Message}", ex);
                }
            case "WordPiece":
                return new WordPieceModel(vocabulary, OptionalString(e, "unk_token", model) ?? "[UNK]",
                    OptionalString(e, "continuing_subword_prefix", model) ?? "##",
                    Int(e, "max_input_chars_per_word", model, fallback: 100));
            default:
                return new WordLevelModel(vocabulary, OptionalString(e, "unk_token", model) ?? "<unk>");
        }
    }

    private Vocabulary ReadVocabulary(JsonElement e, string where)
    {
        if (e.ValueKind != JsonValueKind.Object)
            throw Error($"{where} should be an object mapping tokens to ids, but is {e.ValueKind}.");
        var ids = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var entry in e.EnumerateObject())
        {
            if (entry.Value.ValueKind != JsonValueKind.Number || !entry.Value.TryGetInt32(out var id) || id < 0
                || id > Vocabulary.MaxId)
                throw Error($"{where}: the id of token '{entry.Name}' is not an integer in [0, {Vocabulary.MaxId}].");
            ids[entry.Name] = id;
        }
        return new Vocabulary(ids);
    }

    private List<(string Left, string Right)> ReadMerges(JsonElement? e, string where)
    {
        var merges = new List<(string, string)>();
        if (e is not { } array)
            return merges;
        if (array.ValueKind != JsonValueKind.Array)
            throw Error($"{where} should be an array, but is {array.ValueKind}.");
        var rank = 0;
        foreach (var merge in array.EnumerateArray())
        {
            // Two spellings exist: "left right" (older files) and ["left", "right"], which allows spaces in tokens.
            if (merge.ValueKind == JsonValueKind.String)
            {
                var parts = merge.GetString()!.Split(' ');
                if (parts.Length != 2)
                    throw Error($"{where}[{rank}] should be two tokens separated by one space: '{merge.GetString()}'.");
                merges.Add((parts[0], parts[1]));
            }
            else if (merge.ValueKind == JsonValueKind.Array && merge.GetArrayLength() == 2
                     && merge[0].ValueKind == JsonValueKind.String && merge[1].ValueKind == JsonValueKind.String)
            {
                merges.Add((merge[0].GetString()!, merge[1].GetString()!));
            }
            else
            {
                throw Error($"{where}[{rank}] should be \"left right\" or [\"left\", \"right\"].");
            }
            rank++;
        }
        return merges;
    }

    private IPostProcessor ReadPostProcessor(JsonElement e, string where)
    {
        var type = TypeOf(e, where, PostProcessors, "post_processor");
        where = $"{where} ({type})";
        switch (type)
        {
            case "TemplateProcessing":
                return ReadTemplate(e, where);
            case "BertProcessing":
            {
                var (cls, clsId) = TokenAndId(e, "cls", where);
                var (sep, sepId) = TokenAndId(e, "sep", where);
                return new BertPostProcessor(cls, clsId, sep, sepId);
            }
            case "RobertaProcessing":
            {
                var (cls, clsId) = TokenAndId(e, "cls", where);
                var (sep, sepId) = TokenAndId(e, "sep", where);
                return new RobertaPostProcessor(cls, clsId, sep, sepId);
            }
            case "ByteLevel":
                return new PassThroughPostProcessor();
            default:
                return new SequencePostProcessor(Array(e, "processors", where)
                    .Select((x, i) => ReadPostProcessor(x, $"{where}[{i}]")).ToList());
        }
    }

    private TemplatePostProcessor ReadTemplate(JsonElement e, string where)
    {
        var specialTokens = new Dictionary<string, (int[] Ids, string[] Tokens)>(StringComparer.Ordinal);
        var map = Required(e, "special_tokens", where);
        if (map.ValueKind != JsonValueKind.Object)
            throw Error($"{where}.special_tokens should be an object, but is {map.ValueKind}.");
        foreach (var entry in map.EnumerateObject())
        {
            var at = $"{where}.special_tokens[\"{entry.Name}\"]";
            var ids = Array(entry.Value, "ids", at).Select(x => x.ValueKind == JsonValueKind.Number
                && x.TryGetInt32(out var id) && id >= 0 ? id : throw Error($"{at}.ids should hold non-negative integers.")).ToArray();
            var tokens = Array(entry.Value, "tokens", at).Select(x => x.ValueKind == JsonValueKind.String
                ? x.GetString()! : throw Error($"{at}.tokens should hold strings.")).ToArray();
            if (ids.Length != tokens.Length)
                throw Error($"{at} has {ids.Length} ids but {tokens.Length} tokens.");
            specialTokens[String(entry.Value, "id", at)] = (ids, tokens);
        }
        var single = ReadTemplatePieces(Required(e, "single", where), $"{where}.single", specialTokens);
        var pair = ReadTemplatePieces(Required(e, "pair", where), $"{where}.pair", specialTokens);
        return new TemplatePostProcessor(single, pair, specialTokens);
    }

    private List<TemplatePiece> ReadTemplatePieces(JsonElement e, string where,
        Dictionary<string, (int[] Ids, string[] Tokens)> specialTokens)
    {
        if (e.ValueKind != JsonValueKind.Array)
            throw Error($"{where} should be an array of template pieces, but is {e.ValueKind}.");
        var pieces = new List<TemplatePiece>();
        var index = 0;
        foreach (var item in e.EnumerateArray())
        {
            var at = $"{where}[{index++}]";
            if (item.ValueKind == JsonValueKind.Object && item.TryGetProperty("SpecialToken", out var special))
            {
                var name = String(special, "id", at);
                if (!specialTokens.ContainsKey(name))
                    throw Error($"{at} uses the special token '{name}', which special_tokens does not define.");
                pieces.Add(new TemplatePiece(name, 0, Int(special, "type_id", at, fallback: 0)));
            }
            else if (item.ValueKind == JsonValueKind.Object && item.TryGetProperty("Sequence", out var sequence))
            {
                var id = String(sequence, "id", at);
                var which = id switch
                {
                    "A" => 0,
                    "B" => 1,
                    _ => throw Error($"{at} names sequence '{id}'; only A and B exist."),
                };
                pieces.Add(new TemplatePiece(null, which, Int(sequence, "type_id", at, fallback: 0)));
            }
            else
            {
                throw Error($"{at} should be {{\"SpecialToken\": ...}} or {{\"Sequence\": ...}}.");
            }
        }
        return pieces;
    }

    private ITokenDecoder ReadDecoder(JsonElement e, string where)
    {
        var type = TypeOf(e, where, Decoders, "decoder");
        where = $"{where} ({type})";
        switch (type)
        {
            case "ByteLevel":
                return new ByteLevelDecoder();
            case "WordPiece":
                return new WordPieceDecoder(OptionalString(e, "prefix", where) ?? "##",
                    Bool(e, "cleanup", where, fallback: true));
            case "Metaspace":
                return new MetaspaceDecoder(Char(e, "replacement", where, '\u2581'), ReadPrependScheme(e, where));
            case "Replace":
                return new ReplaceDecoder(ReadReplace(e, where));
            case "ByteFallback":
                return new ByteFallbackDecoder();
            case "Fuse":
                return new FuseDecoder();
            case "Strip":
                return new StripDecoder(Char(e, "content", where, ' '), Int(e, "start", where, fallback: 0),
                    Int(e, "stop", where, fallback: 0));
            case "BPEDecoder":
                return new BpeSuffixDecoder(OptionalString(e, "suffix", where) ?? "</w>");
            default:
                return new SequenceDecoder(
                    Array(e, "decoders", where).Select((x, i) => ReadDecoder(x, $"{where}[{i}]")).ToList());
        }
    }

    private List<AddedToken> ReadAddedTokens(JsonElement e)
    {
        if (e.ValueKind != JsonValueKind.Array)
            throw Error($"added_tokens should be an array, but is {e.ValueKind}.");
        var tokens = new List<AddedToken>();
        var index = 0;
        foreach (var item in e.EnumerateArray())
        {
            var at = $"added_tokens[{index++}]";
            if (item.ValueKind != JsonValueKind.Object)
                throw Error($"{at} should be an object, but is {item.ValueKind}.");
            var special = Bool(item, "special", at, fallback: false);
            tokens.Add(new AddedToken(Int(item, "id", at, fallback: null), String(item, "content", at), special,
                Bool(item, "single_word", at, fallback: false), Bool(item, "lstrip", at, fallback: false),
                Bool(item, "rstrip", at, fallback: false), Bool(item, "normalized", at, fallback: !special)));
        }
        return tokens;
    }

    private ReplaceNormalizer ReadReplace(JsonElement e, string where)
    {
        var (regex, literal) = Pattern(Required(e, "pattern", where), $"{where}.pattern");
        return new ReplaceNormalizer(regex, literal, String(e, "content", where));
    }

    /// <summary>A <c>{"String": ...}</c> or <c>{"Regex": ...}</c> pattern.</summary>
    private (CodePointRegex? Regex, string? Literal) Pattern(JsonElement e, string where)
    {
        if (e.ValueKind == JsonValueKind.Object && e.TryGetProperty("String", out _))
            return (null, String(e, "String", where));
        if (e.ValueKind != JsonValueKind.Object || !e.TryGetProperty("Regex", out _))
            throw Error($"{where} should be {{\"String\": ...}} or {{\"Regex\": ...}}.");
        var pattern = String(e, "Regex", where);
        try
        {
            return (CodePointRegex.Get(pattern), null);
        }
        catch (ArgumentException ex)
        {
            throw Error($"{where}: the regex '{pattern}' is not supported by .NET's regex engine: {ex.Message}", ex);
        }
    }

    private PrependScheme ReadPrependScheme(JsonElement e, string where)
    {
        // Files written before prepend_scheme existed only say add_prefix_space.
        if (OptionalString(e, "prepend_scheme", where) is not { } scheme)
            return Bool(e, "add_prefix_space", where, fallback: true) ? PrependScheme.Always : PrependScheme.Never;
        return scheme switch
        {
            "always" => PrependScheme.Always,
            "first" => PrependScheme.First,
            "never" => PrependScheme.Never,
            _ => throw Error($"{where}: unknown prepend_scheme '{scheme}' (expected always, first or never)."),
        };
    }

    private SplitBehavior Behavior(JsonElement e, string name, string where, SplitBehavior fallback) =>
        OptionalString(e, name, where) switch
        {
            null => fallback,
            "Removed" => SplitBehavior.Removed,
            "Isolated" => SplitBehavior.Isolated,
            "MergedWithPrevious" => SplitBehavior.MergedWithPrevious,
            "MergedWithNext" => SplitBehavior.MergedWithNext,
            "Contiguous" => SplitBehavior.Contiguous,
            var other => throw Error($"{where}: unknown split behavior '{other}'."),
        };

    private (string Token, int Id) TokenAndId(JsonElement e, string name, string where)
    {
        var value = Required(e, name, where);
        if (value.ValueKind != JsonValueKind.Array || value.GetArrayLength() != 2
            || value[0].ValueKind != JsonValueKind.String || value[1].ValueKind != JsonValueKind.Number
            || !value[1].TryGetInt32(out var id) || id < 0)
            throw Error($"{where}.{name} should be [\"token\", id].");
        return (value[0].GetString()!, id);
    }

    private string TypeOf(JsonElement e, string where, string[] supported, string kind)
    {
        if (e.ValueKind != JsonValueKind.Object)
            throw Error($"{where} should be an object, but is {e.ValueKind}.");
        var type = String(e, "type", where);
        if (!supported.Contains(type))
            throw Error($"unsupported {kind} type '{type}' at {where}; supported: {string.Join(", ", supported)}.");
        return type;
    }

    private JsonElement Required(JsonElement e, string name, string where) =>
        Optional(e, name, where) ?? throw Error($"{where} has no '{name}'.");

    /// <summary>The property, or null when it is absent or JSON null.</summary>
    private JsonElement? Optional(JsonElement e, string name, string where)
    {
        if (e.ValueKind != JsonValueKind.Object)
            throw Error($"{where} should be an object, but is {e.ValueKind}.");
        return e.TryGetProperty(name, out var value) && value.ValueKind != JsonValueKind.Null ? value : null;
    }

    private IEnumerable<JsonElement> Array(JsonElement e, string name, string where)
    {
        var value = Required(e, name, where);
        return value.ValueKind == JsonValueKind.Array ? value.EnumerateArray().ToList()
            : throw Error($"{where}.{name} should be an array, but is {value.ValueKind}.");
    }

    private string String(JsonElement e, string name, string where) =>
        OptionalString(e, name, where) ?? throw Error($"{where} has no '{name}'.");

    private string? OptionalString(JsonElement e, string name, string where) => Optional(e, name, where) switch
    {
        null => null,
        { ValueKind: JsonValueKind.String } value => value.GetString(),
        { } value => throw Error($"{where}.{name} should be a string, but is {value.ValueKind}."),
    };

    private bool Bool(JsonElement e, string name, string where, bool fallback) =>
        OptionalBool(e, name, where) ?? fallback;

    private bool? OptionalBool(JsonElement e, string name, string where) => Optional(e, name, where) switch
    {
        null => null,
        { ValueKind: JsonValueKind.True } => true,
        { ValueKind: JsonValueKind.False } => false,
        { } value => throw Error($"{where}.{name} should be true or false, but is {value.ValueKind}."),
    };

    private int Int(JsonElement e, string name, string where, int? fallback) => Optional(e, name, where) switch
    {
        null => fallback ?? throw Error($"{where} has no '{name}'."),
        { ValueKind: JsonValueKind.Number } value when value.TryGetInt32(out var i) && i >= 0 => i,
        { } value => throw Error($"{where}.{name} should be a non-negative integer, but is {value}."),
    };

    private double? OptionalDouble(JsonElement e, string name, string where) => Optional(e, name, where) switch
    {
        null => null,
        { ValueKind: JsonValueKind.Number } value => value.GetDouble(),
        { } value => throw Error($"{where}.{name} should be a number, but is {value.ValueKind}."),
    };

    private char Char(JsonElement e, string name, string where, char? fallback)
    {
        var value = OptionalString(e, name, where);
        if (value is null)
            return fallback ?? throw Error($"{where} has no '{name}'.");
        return value.Length == 1 ? value[0]
            : throw Error($"{where}.{name} should be a single character, but is '{value}'.");
    }

    private static string? NonEmpty(string? s) => string.IsNullOrEmpty(s) ? null : s;

    private TokenizerFormatException Error(string message, Exception? inner = null) => new(_origin, message, inner);
}
