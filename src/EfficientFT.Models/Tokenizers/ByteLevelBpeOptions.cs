namespace EfficientFT.Models.Tokenizers;

/// <summary>Settings for a GPT-2 style tokenizer built from vocab.json and merges.txt.</summary>
/// <param name="AddPrefixSpace">
/// Put a space before text that does not start with one, so the first word is tokenized like any other
/// (RoBERTa's <c>add_prefix_space</c>); GPT-2 itself does not.
/// </param>
/// <param name="SpecialTokens">
/// Tokens matched whole in the raw text before BPE, and skipped when decoding with special tokens skipped, such as
/// "&lt;|endoftext|&gt;". One missing from vocab.json gets the next free id.
/// </param>
/// <param name="RobertaProcessing">
/// Wrap sequences as RoBERTa does (<c>&lt;s&gt; A &lt;/s&gt;</c>, pairs <c>&lt;s&gt; A &lt;/s&gt;&lt;/s&gt; B &lt;/s&gt;</c>)
/// when special tokens are added, and match <c>&lt;mask&gt;</c> with the space before it, as transformers converts a
/// RobertaTokenizer; <see cref="SpecialTokens"/> must then hold &lt;s&gt; and &lt;/s&gt;.
/// </param>
public sealed record ByteLevelBpeOptions(bool AddPrefixSpace = false, IReadOnlyList<string>? SpecialTokens = null, bool RobertaProcessing = false)
{
    /// <summary>transformers' RobertaTokenizer: its five special tokens and its template.</summary>
    public static ByteLevelBpeOptions Roberta(bool addPrefixSpace = false) =>
        new(addPrefixSpace, ["<s>", "<pad>", "</s>", "<unk>", "<mask>"], RobertaProcessing: true);

    /// <summary>transformers' GPT2Tokenizer: one special token, and no template (it adds no bos or eos).</summary>
    public static ByteLevelBpeOptions Gpt2(bool addPrefixSpace = false) => new(addPrefixSpace, ["<|endoftext|>"]);
}
