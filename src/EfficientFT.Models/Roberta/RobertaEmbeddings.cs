using EfficientFT.Models.Configs;
using EfficientFT.Models.Nn;
using EfficientFT.Tensors;

namespace EfficientFT.Models.Roberta;

/// <summary>Word + position + token-type embeddings, LayerNorm, dropout (RobertaEmbeddings).</summary>
public sealed class RobertaEmbeddings(RobertaConfig config) : Module
{
    private readonly int _padding = config.PaddingIndex;

    public Embedding WordEmbeddings { get; } = new(config.VocabSize, config.HiddenSize, config.PaddingIndex);

    public Embedding PositionEmbeddings { get; } = new(config.MaxPositionEmbeddings, config.HiddenSize, config.PaddingIndex);

    public Embedding TokenTypeEmbeddings { get; } = new(config.TypeVocabSize, config.HiddenSize);

    public LayerNorm LayerNorm { get; } = new(config.HiddenSize, (float)config.LayerNormEps);

    /// <summary>Shapes: batch ids [B, T] → [B, T, C].</summary>
    public Tensor Forward(ModelBatch batch, ForwardContext context)
    {
        var positions = PositionIds(batch.InputIds, batch.Length, _padding);
        var maxPosition = positions.Max();
        if (maxPosition >= config.MaxPositionEmbeddings)
            throw new ArgumentException($"RoBERTa: a sequence of {batch.Length} tokens needs position {maxPosition}, but the model has {config.MaxPositionEmbeddings} position embeddings (at most {config.MaxTokens} tokens).");
        var h = WordEmbeddings.Forward(batch.InputIds, batch.Shape)
                + TokenTypeEmbeddings.Forward(new int[batch.InputIds.Length], batch.Shape)
                + PositionEmbeddings.Forward(positions, batch.Shape);
        return context.Dropout(LayerNorm.Forward(h), (float)config.HiddenDropoutProb);
    }

    /// <summary>
    /// transformers' create_position_ids_from_input_ids: positions count real tokens from padding_idx + 1 and pads
    /// keep padding_idx, so they come from the ids, not from the attention mask.
    /// </summary>
    public static int[] PositionIds(int[] inputIds, int length, int paddingIndex)
    {
        var positions = new int[inputIds.Length];
        for (var row = 0; row < inputIds.Length / length; row++)
        {
            var count = 0;
            for (var t = 0; t < length; t++)
            {
                var i = row * length + t;
                positions[i] = inputIds[i] == paddingIndex ? paddingIndex : paddingIndex + ++count;
            }
        }
        return positions;
    }

    protected override IEnumerable<(string Name, Module Child)> Children() =>
    [
        ("word_embeddings", WordEmbeddings),
        ("position_embeddings", PositionEmbeddings),
        ("token_type_embeddings", TokenTypeEmbeddings),
        ("LayerNorm", LayerNorm),
    ];
}
