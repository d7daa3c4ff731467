namespace EfficientFT.Tensors.Autograd;

/// <summary>
/// One recorded op: its inputs and the closure that sends the output's gradient back to them. The closure holds the
/// op's saved activations; dropping the node after backward frees them.
/// </summary>
internal sealed class Node(string op, Tensor[] inputs, Action<Tensor> backward)
{
    public string Op { get; } = op;

    public Tensor[] Inputs { get; } = inputs;

    /// <summary>Adds the gradient of each input that requires one, given the output's gradient.</summary>
    public Action<Tensor> Backward { get; } = backward;

    /// <summary>The closure runs recorded ops of its own, which the profile charges one by one (a checkpoint's rerun).</summary>
    public bool ProfilesItself { get; init; }
}
