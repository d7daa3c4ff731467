using EfficientFT.Tensors;

namespace EfficientFT.Training;

/// <summary>Gradient clipping by global norm, as torch.nn.utils.clip_grad_norm_ does it.</summary>
public static class GradientClipping
{
    /// <summary>
    /// Computes the L2 norm of all gradients of <paramref name="tensors"/> taken together and, when
    /// max_norm / (norm + 1e-6) is below 1, scales every gradient by it. Returns the norm before clipping, which is
    /// NaN or infinite when a gradient is (the gradients are then left as they are).
    /// </summary>
    public static double ClipGlobalNorm(IEnumerable<Tensor> tensors, double maxNorm)
    {
        var grads = tensors.Select(t => t.Grad).OfType<Tensor>().Distinct(ReferenceEqualityComparer.Instance).Cast<Tensor>().ToList();
        double sum = 0;
        foreach (var g in grads)
            foreach (var v in g.AsSpan())
                sum += (double)v * v;
        var norm = Math.Sqrt(sum);
        if (!double.IsFinite(norm)) return norm;
        var scale = maxNorm / (norm + 1e-6);
        if (scale < 1)
            foreach (var g in grads)
                System.Numerics.Tensors.TensorPrimitives.Multiply(g.AsSpan(), (float)scale, g.AsSpan());
        return norm;
    }
}
