namespace EfficientFT.Tensors.Linalg;

/// <summary>
/// Standard normal samples from a seed: SplitMix64 for uniform bits, Box–Muller for the transform. Private to the
/// randomized SVD so its test matrices and results stay fixed whatever the engine's public RNG becomes.
/// </summary>
internal struct NormalSampler(ulong seed)
{
    private ulong _state = seed;

    public void Fill(Span<float> destination)
    {
        var i = 0;
        for (; i + 1 < destination.Length; i += 2)
        {
            var (z0, z1) = NextPair();
            destination[i] = (float)z0;
            destination[i + 1] = (float)z1;
        }
        if (i < destination.Length) destination[i] = (float)NextPair().Z0;
    }

    private (double Z0, double Z1) NextPair()
    {
        // (0, 1]: never 0, so the logarithm stays finite.
        var u1 = ((NextUInt64() >> 11) + 1) * (1.0 / (1UL << 53));
        var u2 = (NextUInt64() >> 11) * (1.0 / (1UL << 53));
        var radius = Math.Sqrt(-2.0 * Math.Log(u1));
        var (sin, cos) = Math.SinCos(2.0 * Math.PI * u2);
        return (radius * cos, radius * sin);
    }

    private ulong NextUInt64()
    {
        var z = _state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
