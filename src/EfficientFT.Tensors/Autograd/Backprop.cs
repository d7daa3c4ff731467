namespace EfficientFT.Tensors.Autograd;

/// <summary>Reverse-mode differentiation over the recorded graph.</summary>
internal static class Backprop
{
    public static void Run(Tensor root, Tensor? seed)
    {
        if (!root.RequiresGrad)
            throw new InvalidOperationException($"Backward: tensor {root.Describe()} does not require a gradient (no parameter upstream, or it was computed under NoGrad).");
        CheckNotReleased(root);
        if (seed == null)
        {
            if (root.Size != 1)
                throw new ArgumentException($"Backward: tensor {root.Describe()} is not a scalar; pass its gradient explicitly.");
            seed = Tensor.Ones(root.ShapeArray());
        }
        else if (!Shapes.SameShape(seed.Shape, root.Shape))
        {
            throw new ArgumentException($"Backward: gradient of shape {Shapes.Format(seed.Shape)} for tensor {root.Describe()}.");
        }

        var order = TopologicalOrder(root);
        Accumulate(root, seed.Contiguous().AsSpan());
        OpProfile.Lap("(loss and graph walk)");

        using var _ = GradMode.NoGrad();
        for (var i = order.Count - 1; i >= 0; i--)
        {
            var t = order[i];
            var node = t.GradFn!;
            if (t.Grad != null)
            {
                var start = OpProfile.Enabled ? System.Diagnostics.Stopwatch.GetTimestamp() : 0;
                node.Backward(t.Grad);
                if (!node.ProfilesItself) OpProfile.Backward(node.Op, t, start);
            }
            // Freeing the node drops the saved activations it captured; intermediate gradients are not kept either,
            // and their storage goes back to the pool unless an input took it over.
            t.GradFn = null;
            t.GraphReleased = true;
            if (t.Grad is { FromGradientPool: true, StorageTakenOver: false } spent) GradientPool.Return(spent.Storage);
            t.Grad = null;
            // The walk's own list would otherwise keep every activation reachable until the whole pass ends, so no
            // collection during backward could reuse their memory for the gradients it allocates.
            order[i] = null!;
        }
    }

    private static void CheckNotReleased(Tensor t)
    {
        if (t.GraphReleased)
            throw new InvalidOperationException($"Backward: the graph through tensor {t.Describe()} was already released by an earlier backward; run the forward again.");
    }

    /// <summary>The non-leaf tensors reachable from <paramref name="root"/>, each after all of its inputs.</summary>
    private static List<Tensor> TopologicalOrder(Tensor root)
    {
        var order = new List<Tensor>();
        var visited = new HashSet<Tensor>(ReferenceEqualityComparer.Instance);
        var stack = new Stack<(Tensor Tensor, int NextInput)>();
        if (root.GradFn == null) return order;
        stack.Push((root, 0));
        visited.Add(root);
        while (stack.Count > 0)
        {
            var (t, next) = stack.Pop();
            var inputs = t.GradFn!.Inputs;
            if (next < inputs.Length)
            {
                stack.Push((t, next + 1));
                var input = inputs[next];
                if (input.RequiresGrad) CheckNotReleased(input);
                if (input.GradFn != null && input.RequiresGrad && visited.Add(input)) stack.Push((input, 0));
            }
            else
            {
                order.Add(t);
            }
        }
        return order;
    }

    /// <summary>The gradient buffer of <paramref name="t"/>, created as zeros on first use, to add into.</summary>
    public static Span<float> GradBuffer(Tensor t)
    {
        var g = GradBuffer(t, out var fresh);
        if (fresh) g.Clear();
        return g;
    }

    /// <summary>
    /// The gradient buffer of <paramref name="t"/> for a kernel that either overwrites or adds: when
    /// <paramref name="overwrite"/> comes back true the buffer is new and uncleared, and the kernel must write every
    /// element (a GEMM with β = 0) instead of adding to zeros it would first have to clear.
    /// </summary>
    public static Span<float> GradBuffer(Tensor t, out bool overwrite)
    {
        overwrite = t.Grad == null;
        t.Grad ??= new Tensor(GradientPool.Rent(t.Size), t.ShapeArray()) { FromGradientPool = true };
        return t.Grad.AsSpan();
    }

    public static void Accumulate(Tensor t, ReadOnlySpan<float> gradient)
    {
        var g = GradBuffer(t, out var overwrite);
        if (overwrite) gradient.CopyTo(g);
        else System.Numerics.Tensors.TensorPrimitives.Add(g, gradient, g);
    }

    /// <summary>
    /// Adds <paramref name="gradient"/> (same element count as <paramref name="t"/>) to t's gradient, taking its
    /// storage over when t has none yet. Only for a gradient nothing else will read or write after this call: an op's
    /// output gradient handed to one of its inputs (the engine drops the output's gradient once its op has run).
    /// </summary>
    public static void AccumulateOwned(Tensor t, Tensor gradient)
    {
        if (t.Grad == null && !gradient.IsTransposed && gradient.Size == t.Size)
        {
            t.Grad = new Tensor(gradient.Storage, t.ShapeArray()) { FromGradientPool = gradient.FromGradientPool };
            gradient.StorageTakenOver = true;
        }
        else
            Accumulate(t, gradient.Contiguous().AsSpan());
    }
}
