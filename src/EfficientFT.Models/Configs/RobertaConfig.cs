namespace EfficientFT.Models.Configs;

/// <summary>
/// A BERT-style encoder config: RoBERTa, BERT and XLM-RoBERTa share this layout (transformers' RobertaConfig and
/// BertConfig have the same keys). Defaults are transformers' for the model type.
/// </summary>
public sealed record RobertaConfig : ModelConfig
{
    public double HiddenDropoutProb { get; init; } = 0.1;

    public double AttentionProbsDropoutProb { get; init; } = 0.1;

    /// <summary>Rows of the token-type embedding (1 for RoBERTa checkpoints, 2 for BERT).</summary>
    public int TypeVocabSize { get; init; } = 2;

    public double LayerNormEps { get; init; } = 1e-12;

    /// <summary>"absolute" is the only kind the supported checkpoints use; relative kinds are kept for the record.</summary>
    public string PositionEmbeddingType { get; init; } = "absolute";

    /// <summary>RoBERTa numbers a row's real tokens from padding_idx + 1, so the table holds that many fewer.</summary>
    public override int? MaxTokens => MaxPositionEmbeddings - PaddingIndex - 1;

    /// <summary>transformers' RoBERTa pads with 1 (&lt;pad&gt;) when the config names no pad token.</summary>
    public override int PaddingIndex => PadTokenId ?? 1;

    /// <summary>Dropout of the classification head; null means <see cref="HiddenDropoutProb"/>.</summary>
    public double? ClassifierDropout { get; init; }

    /// <summary>transformers' defaults for <paramref name="modelType"/> (roberta, bert or xlm-roberta).</summary>
    public static RobertaConfig Default(string modelType = "roberta")
    {
        var bert = modelType == "bert";
        return new RobertaConfig
        {
            ModelType = modelType,
            VocabSize = 30522,
            HiddenSize = 768,
            NumHiddenLayers = 12,
            NumAttentionHeads = 12,
            IntermediateSize = 3072,
            HiddenAct = "gelu",
            MaxPositionEmbeddings = 512,
            // BERT pads with id 0 and has no bos/eos; RoBERTa's <s>, <pad>, </s> are 0, 1, 2.
            PadTokenId = bert ? 0 : 1,
            BosTokenId = bert ? null : 0,
            EosTokenIds = bert ? [] : [2],
            TieWordEmbeddings = true,
        };
    }

    /// <summary>Reads a RoBERTa/BERT config.json; see <see cref="ModelConfig.Load"/>.</summary>
    public static new RobertaConfig Load(string path) => ModelConfig.Load(path) as RobertaConfig
        ?? throw new ModelConfigException(path, "is not a RoBERTa/BERT config (model_type roberta, bert or xlm-roberta).");

    internal static RobertaConfig Read(ConfigReader r, string modelType)
    {
        var d = Default(modelType);
        var config = ReadCommon(r, d) with
        {
            ModelType = modelType,
            HiddenDropoutProb = r.Double("hidden_dropout_prob", d.HiddenDropoutProb),
            AttentionProbsDropoutProb = r.Double("attention_probs_dropout_prob", d.AttentionProbsDropoutProb),
            TypeVocabSize = r.Int("type_vocab_size", d.TypeVocabSize),
            LayerNormEps = r.Double("layer_norm_eps", d.LayerNormEps),
            PositionEmbeddingType = r.String("position_embedding_type", d.PositionEmbeddingType),
            ClassifierDropout = r.OptionalDouble("classifier_dropout"),
        };
        config.ValidateCommon(r);
        RequirePositive(r, "layer_norm_eps", config.LayerNormEps);
        if (config.HiddenSize % config.NumAttentionHeads != 0)
            throw r.Error($"hidden_size {config.HiddenSize} is not a multiple of num_attention_heads {config.NumAttentionHeads}.");
        // Relative position embeddings change every attention score; the layers here compute absolute ones only, and the
        // checkpoint's distance_embedding tensors would be left unused without a word.
        if (config.PositionEmbeddingType != "absolute")
            throw r.Error($"position_embedding_type '{config.PositionEmbeddingType}' is not supported (only absolute).");
        return config;
    }

    private protected override ModelConfig Defaults() => Default(ModelType);

    private protected override void WriteSpecific(ConfigWriter w)
    {
        var d = Default(ModelType);
        w.Set("hidden_dropout_prob", HiddenDropoutProb, d.HiddenDropoutProb);
        w.Set("attention_probs_dropout_prob", AttentionProbsDropoutProb, d.AttentionProbsDropoutProb);
        w.Set("type_vocab_size", TypeVocabSize, d.TypeVocabSize);
        w.Set("layer_norm_eps", LayerNormEps, d.LayerNormEps);
        w.Set("position_embedding_type", PositionEmbeddingType, d.PositionEmbeddingType);
        w.Set("classifier_dropout", ClassifierDropout, d.ClassifierDropout);
    }
}
