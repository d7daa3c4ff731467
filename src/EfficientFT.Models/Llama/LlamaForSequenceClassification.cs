using EfficientFT.Models.Configs;
using EfficientFT.Models.Nn;
using EfficientFT.Tensors;

namespace EfficientFT.Models.Llama;

/// <summary>
/// LLaMA with a bias-free score head read at the last real token of each row, found as transformers 4.46 finds
/// it: one before the first pad id (the last position when a row has none).
/// </summary>
public sealed class LlamaForSequenceClassification(LlamaConfig config) : PretrainedModel
{
    public LlamaConfig Config { get; } = config;

    public LlamaModel Model { get; } = new(config);

    public Linear Score { get; set; } = new(Tensor.Zeros(config.NumLabels, config.HiddenSize), null);

    public override ModelConfig ModelConfig => Config;

    protected override bool IsHeadTensor(string name) => name.StartsWith("score.", StringComparison.Ordinal);

    public override IReadOnlyList<string> HeadModules => ["score"];

    public override string? PeftTaskType => "SEQ_CLS";

    public override string Architecture => "LlamaForSequenceClassification";

    public override int LossItems(ModelBatch batch) => SequenceClassification.LossItems(Config, batch, Architecture);

    public override ModelOutput Forward(ModelBatch batch, ForwardContext context)
    {
        var pooledRows = new int[batch.Batch];
        for (var row = 0; row < batch.Batch; row++)
            pooledRows[row] = row * batch.Length + LastTokenIndex(batch, row);
        var pooled = (context.EveryPosition
            ? LlamaDecoderLayer.SelectRows(Model.Forward(batch, context), pooledRows)
            : Model.Forward(batch, context, pooledRows)).Reshape(batch.Batch, -1);
        var logits = Score.Forward(pooled, context);
        return new ModelOutput(logits, SequenceClassification.Loss(Config, logits, batch));
    }

    private int LastTokenIndex(ModelBatch batch, int row)
    {
        if (Config.PadTokenId is not { } pad)
        {
            if (batch.Batch > 1)
                throw new InvalidOperationException("LlamaForSequenceClassification: config.json has no pad_token_id, so a batch of more than one row cannot be pooled.");
            return batch.Length - 1;
        }
        for (var t = 0; t < batch.Length; t++)
            if (batch.InputIds[row * batch.Length + t] == pad)
                return (t - 1 + batch.Length) % batch.Length;
        return batch.Length - 1;
    }

    protected override bool IsIgnoredCheckpointName(string name) => name == "lm_head.weight";

    protected override IEnumerable<(string Name, Module Child)> Children() =>
    [
        ("model", Model),
        ("score", Score),
    ];
}
