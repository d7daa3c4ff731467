using EfficientFT.Tensors;

namespace EfficientFT.Training.Optimizers;

/// <summary>Tensors that share a learning rate and weight decay (torch's param_groups).</summary>
public sealed record ParamGroup(string Name, double LearningRate, double WeightDecay, IReadOnlyList<Tensor> Tensors);
