using EfficientFT.Tensors.Autograd;

namespace EfficientFT.Tensors;

public static partial class Ops
{
    /// <summary>
    /// Gradient checkpointing (torch.utils.checkpoint): y = run(x) computed without recording, so none of the
    /// segment's activations stay alive until backward, only its input. Backward records the segment again with
    /// <paramref name="rerun"/> and backpropagates through that, which costs one more forward of the segment.
    /// </summary>
    /// <param name="run">The segment's forward.</param>
    /// <param name="rerun">
    /// The same forward again, which must give the same output bits: a segment with dropout replays the random draws
    /// <paramref name="run"/> made. Gradients flow to whatever it reads that requires one (the segment's parameters,
    /// adapters included) as well as to x.
    /// </param>
    /// <remarks>
    /// Whether anything inside the segment trains is known only once it is recorded, so while recording is on the
    /// output always joins the graph; a segment with nothing to train then costs its rerun and sends nothing back.
    /// Both passes end with a full collection and a reclaim by the thread's <see cref="ActivationRecycler"/>: the
    /// segment's activations die in the oldest generation, where the runtime lets garbage pile up, and a recycler
    /// holds what it hands out until a reclaim. RoBERTa-base, 8 × 512 tokens: 3.21 GB peak resident with
    /// young-generation collections only, 1.35 GB with these, whose 25 a step took 0.07 s of 18.5 s.
    /// </remarks>
    public static Tensor Checkpoint(Tensor x, Func<Tensor, Tensor> run, Func<Tensor, Tensor> rerun)
    {
        if (!GradMode.IsEnabled) return run(x);
        Tensor output;
        using (GradMode.NoGrad()) output = run(x);
        ActivationRecycler.CollectGarbage();
        if (output.GradFn != null || ReferenceEquals(output, x))
            throw new InvalidOperationException("checkpoint: the segment returned its input or a recorded tensor; it must compute a new one.");
        output.RequiresGrad = true;
        output.GradFn = new Node("checkpoint", [x], dy =>
        {
            var input = x.Detach();
            input.RequiresGrad = x.RequiresGrad;
            Tensor again;
            using (GradMode.Recording()) again = rerun(input);
            if (!again.RequiresGrad) return;
            Backprop.Run(again, dy);
            ActivationRecycler.CollectGarbage();
            if (x.RequiresGrad && input.Grad != null) Backprop.AccumulateOwned(x, input.Grad);
        }) { ProfilesItself = true };
        return output;
    }
}
