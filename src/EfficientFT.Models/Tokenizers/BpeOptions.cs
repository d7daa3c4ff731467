namespace EfficientFT.Models.Tokenizers;

/// <summary>The settings of a BPE model, named as in tokenizer.json.</summary>
/// <param name="UnknownToken">Emitted for characters neither in the vocabulary nor covered by byte fallback.</param>
/// <param name="ContinuingSubwordPrefix">Prepended to every character but the first of a word (e.g. "##").</param>
/// <param name="EndOfWordSuffix">Appended to the last character of a word (e.g. "&lt;/w&gt;").</param>
/// <param name="FuseUnknown">Consecutive unknown characters become a single unknown token.</param>
/// <param name="ByteFallback">Unknown characters become their UTF-8 bytes as &lt;0xNN&gt; tokens.</param>
/// <param name="IgnoreMerges">A word that is itself in the vocabulary is one token, whatever the merges say.</param>
internal sealed record BpeOptions(
    string? UnknownToken = null,
    string? ContinuingSubwordPrefix = null,
    string? EndOfWordSuffix = null,
    bool FuseUnknown = false,
    bool ByteFallback = false,
    bool IgnoreMerges = false);
