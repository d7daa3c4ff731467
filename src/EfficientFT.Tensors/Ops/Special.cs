using System.Numerics;

namespace EfficientFT.Tensors;

/// <summary>Special functions the ops need that .NET's Math lacks.</summary>
internal static class Special
{
    public const float InvSqrt2 = 0.70710678118654752f;
    public const float InvSqrt2Pi = 0.39894228040143268f;

    /// <summary>
    /// erf for float32, as a rational function of x on [-4, 4] (erf is ±1 to float precision beyond). Accurate to a
    /// few ulp, which the exact-GELU parity with PyTorch needs; evaluated in float so it stays cheap per element.
    /// </summary>
    public static float Erf(float x)
    {
        x = Math.Clamp(x, -4f, 4f);
        var x2 = x * x;
        var p = -2.72614225801306e-10f;
        p = p * x2 + 2.77068142495902e-08f;
        p = p * x2 + -2.10102402082508e-06f;
        p = p * x2 + -5.69250639462346e-05f;
        p = p * x2 + -7.34990630326855e-04f;
        p = p * x2 + -2.95459980854025e-03f;
        p = p * x2 + -1.60960333262415e-02f;
        p *= x;
        var q = -1.45660718464996e-05f;
        q = q * x2 + -2.13374055278905e-04f;
        q = q * x2 + -1.68282697438203e-03f;
        q = q * x2 + -7.37332916720468e-03f;
        q = q * x2 + -1.42647390514189e-02f;
        return p / q;
    }

    /// <summary>erf of every element, the same rational function as <see cref="Erf(float)"/>, a SIMD vector at a time.</summary>
    public static void Erf(ReadOnlySpan<float> x, Span<float> y)
    {
        var i = 0;
        var lanes = Vector<float>.Count;
        for (; i <= x.Length - lanes; i += lanes) Erf(new Vector<float>(x.Slice(i, lanes))).CopyTo(y.Slice(i, lanes));
        for (; i < x.Length; i++) y[i] = Erf(x[i]);
    }

    /// <summary>erf of each lane, the same rational function and operation order as <see cref="Erf(float)"/>.</summary>
    public static Vector<float> Erf(Vector<float> x)
    {
        var v = Vector.Min(Vector.Max(x, new Vector<float>(-4f)), new Vector<float>(4f));
        var v2 = v * v;
        var p = new Vector<float>(-2.72614225801306e-10f);
        p = p * v2 + new Vector<float>(2.77068142495902e-08f);
        p = p * v2 + new Vector<float>(-2.10102402082508e-06f);
        p = p * v2 + new Vector<float>(-5.69250639462346e-05f);
        p = p * v2 + new Vector<float>(-7.34990630326855e-04f);
        p = p * v2 + new Vector<float>(-2.95459980854025e-03f);
        p = p * v2 + new Vector<float>(-1.60960333262415e-02f);
        p *= v;
        var q = new Vector<float>(-1.45660718464996e-05f);
        q = q * v2 + new Vector<float>(-2.13374055278905e-04f);
        q = q * v2 + new Vector<float>(-1.68282697438203e-03f);
        q = q * v2 + new Vector<float>(-7.37332916720468e-03f);
        q = q * v2 + new Vector<float>(-1.42647390514189e-02f);
        return p / q;
    }
}
