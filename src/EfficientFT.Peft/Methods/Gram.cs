using EfficientFT.Tensors;

namespace EfficientFT.Peft.Methods;

/// <summary>
/// The r×r Gram matrices of low-rank factors, the only ones that can equal the identity when r is below in and
/// out: A Aᵀ for the rows of A [r, in] and Bᵀ B for the columns of B [out, r]. Both record gradients.
/// </summary>
internal static class Gram
{
    public static Tensor OfRows(Tensor a) => Ops.MatMul(a, a.Transpose());

    public static Tensor OfColumns(Tensor b) => Ops.MatMul(b.Transpose(), b);

    public static Tensor Identity(int n)
    {
        var eye = Tensor.Zeros(n, n);
        var data = eye.AsSpan();
        for (var i = 0; i < n; i++) data[i * n + i] = 1;
        return eye;
    }

    /// <summary>M with its diagonal set to zero (a constant mask, so the gradient of the diagonal is zero too).</summary>
    public static Tensor OffDiagonal(Tensor m) => m * (1f - Identity(m.Dim(0)));

    /// <summary>‖M‖²_F = Σ M²ᵢⱼ.</summary>
    public static Tensor SquaredFrobenius(Tensor m) => Ops.Sum(m * m);

    /// <summary>
    /// ‖M‖_F as a scalar, as torch.norm(M, p="fro"), with torch's subgradient 0 at M = 0: exactly orthogonal factors
    /// (OLoRA's B, a hand-made Q) would otherwise get 0/0 from the square root.
    /// </summary>
    public static Tensor Frobenius(Tensor m) => Ops.VectorNorm(m.Reshape(1, -1), 1).Reshape();
}
