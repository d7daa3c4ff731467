namespace EfficientFT.Models.Tokenizers.Training;

/// <summary>What <see cref="ByteLevelBpeTrainer"/> builds. Defaults: an 8k vocabulary, pairs seen at least twice (HF's default).</summary>
public sealed record ByteLevelBpeTrainerOptions
{
    /// <summary>Entries in the finished vocabulary, special tokens included.</summary>
    public int VocabSize { get; init; } = 8000;

    /// <summary>Merging stops at the first pair seen fewer times than this, even if the vocabulary has room.</summary>
    public int MinFrequency { get; init; } = 2;

    public RobertaSpecialTokens SpecialTokens { get; init; } = new();
}

/// <summary>
/// RoBERTa's special tokens and where they sit: bos, pad, eos, unk take ids 0–3 before the bytes and merges, and mask
/// takes the last id, as in roberta-base's vocabulary (and so pad_token_id 1, bos 0, eos 2 in config.json).
/// </summary>
public sealed record RobertaSpecialTokens(string Bos = "<s>", string Pad = "<pad>", string Eos = "</s>", string Unk = "<unk>", string Mask = "<mask>")
{
    /// <summary>The tokens before the byte alphabet, in id order.</summary>
    public IReadOnlyList<string> Leading => [Bos, Pad, Eos, Unk];
}
