using EfficientFT.Models.Configs;
using EfficientFT.Models.Nn;
using EfficientFT.Tensors;

namespace EfficientFT.Models.Roberta;

/// <summary>
/// RoBERTa with RobertaClassificationHead on the first token: out_proj(drop(tanh(dense(drop(h₀))))).
/// One label (or problem_type "regression") means regression with MSE; otherwise cross-entropy.
/// </summary>
public sealed class RobertaForSequenceClassification(RobertaConfig config) : PretrainedModel
{
    private readonly float _dropout = (float)(config.ClassifierDropout ?? config.HiddenDropoutProb);

    public RobertaConfig Config { get; } = config;

    public RobertaModel Roberta { get; } = new(config);

    public Linear Dense { get; set; } = Linear.Create(config.HiddenSize, config.HiddenSize);

    public Linear OutProj { get; set; } = Linear.Create(config.HiddenSize, config.NumLabels);

    public override ModelConfig ModelConfig => Config;

    protected override bool IsHeadTensor(string name) => name.StartsWith("classifier.", StringComparison.Ordinal);

    public override IReadOnlyList<string> HeadModules => ["classifier"];

    public override string? PeftTaskType => "SEQ_CLS";

    public override string Architecture => "RobertaForSequenceClassification";

    public override int LossItems(ModelBatch batch) => SequenceClassification.LossItems(Config, batch, Architecture);

    public override ModelOutput Forward(ModelBatch batch, ForwardContext context)
    {
        var h = Roberta.Forward(batch, context, firstPositionOnly: !context.EveryPosition);
        var first = Ops.Slice(h, 1, 0, 1).Reshape(batch.Batch, -1);
        var x = Ops.Tanh(Dense.Forward(context.Dropout(first, _dropout), context));
        var logits = OutProj.Forward(context.Dropout(x, _dropout), context);
        return new ModelOutput(logits, SequenceClassification.Loss(Config, logits, batch));
    }

    protected override bool IsIgnoredCheckpointName(string name) => name.StartsWith("roberta.pooler.", StringComparison.Ordinal)
        || name.StartsWith("lm_head.", StringComparison.Ordinal);

    protected override IEnumerable<(string Name, Module Child)> Children() =>
    [
        ("roberta", Roberta),
        ("classifier.dense", Dense),
        ("classifier.out_proj", OutProj),
    ];
}
