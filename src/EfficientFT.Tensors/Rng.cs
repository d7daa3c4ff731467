namespace EfficientFT.Tensors;

/// <summary>
/// The engine's seeded generator (xoshiro256**, seeded through SplitMix64): the same seed gives the same stream on
/// every machine. Dropout does not draw per element from it; it draws one key per call and derives each element's
/// mask bit from (key, index) with <see cref="HashUniform"/>, so masks do not depend on how work is split across
/// threads.
/// </summary>
public sealed class Rng
{
    private ulong _s0, _s1, _s2, _s3;
    private double? _spareNormal;

    public Rng(ulong seed)
    {
        var x = seed;
        _s0 = SplitMix(ref x);
        _s1 = SplitMix(ref x);
        _s2 = SplitMix(ref x);
        _s3 = SplitMix(ref x);
    }

    public ulong NextUInt64()
    {
        var result = RotateLeft(_s1 * 5, 7) * 9;
        var t = _s1 << 17;
        _s2 ^= _s0;
        _s3 ^= _s1;
        _s1 ^= _s2;
        _s0 ^= _s3;
        _s2 ^= t;
        _s3 = RotateLeft(_s3, 45);
        return result;
    }

    /// <summary>Uniform in [0, 1) with 53 random bits.</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// <summary>Uniform integer in [0, <paramref name="maxExclusive"/>).</summary>
    public int NextInt(int maxExclusive)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxExclusive, 1);
        return (int)(NextDouble() * maxExclusive);
    }

    /// <summary>Standard normal by the Box–Muller transform (both values used).</summary>
    public double NextNormal()
    {
        if (_spareNormal is { } spare)
        {
            _spareNormal = null;
            return spare;
        }
        double u1;
        do u1 = NextDouble(); while (u1 <= double.Epsilon);
        var u2 = NextDouble();
        var radius = Math.Sqrt(-2.0 * Math.Log(u1));
        _spareNormal = radius * Math.Sin(2 * Math.PI * u2);
        return radius * Math.Cos(2 * Math.PI * u2);
    }

    public void FillUniform(Span<float> destination, float low, float high)
    {
        for (var i = 0; i < destination.Length; i++) destination[i] = (float)(low + (high - low) * NextDouble());
    }

    public void FillNormal(Span<float> destination, float mean, float std)
    {
        for (var i = 0; i < destination.Length; i++) destination[i] = (float)(mean + std * NextNormal());
    }

    /// <summary>A new generator at this one's state: it draws what this one would draw next.</summary>
    public Rng Copy() => (Rng)MemberwiseClone();

    /// <summary>A new generator whose stream is independent of this one's continuation.</summary>
    public Rng Fork() => new(NextUInt64());

    /// <summary>A well-mixed 64-bit function of (key, index): derives independent seeds from one.</summary>
    public static ulong Hash(ulong key, ulong index)
    {
        var x = key ^ (index * 0x9E3779B97F4A7C15UL);
        return SplitMix(ref x);
    }

    /// <summary>
    /// Uniform in [0, 1) from <see cref="Hash32"/>, 24 bits (what a float can hold): the counter-based stream behind
    /// dropout masks.
    /// </summary>
    public static float HashUniform(ulong key, ulong index) => (Hash32(key, index) >> 8) * (1f / (1 << 24));

    /// <summary>
    /// A 32-bit function of (key, index), two rounds of MurmurHash3's finalizer: the index's low half mixed with the
    /// key's low half, then the index's high half with the key's high half. All 32-bit arithmetic, so a vector draws
    /// eight at once where the 64-bit <see cref="Hash"/> draws four with emulated multiplies. Distinct indices within
    /// any 2³² block never collide (every step is a bijection of the low half).
    /// </summary>
    public static uint Hash32(ulong key, ulong index) =>
        Fmix32(Fmix32((uint)index * Golden32 ^ (uint)key) ^ (uint)(index >> 32) ^ (uint)(key >> 32));

    /// <summary>2³²/φ, odd: multiplying by it spreads consecutive indices across the word.</summary>
    internal const uint Golden32 = 0x9E3779B9u;

    private static uint Fmix32(uint h)
    {
        h = (h ^ (h >> 16)) * 0x85EBCA6Bu;
        h = (h ^ (h >> 13)) * 0xC2B2AE35u;
        return h ^ (h >> 16);
    }

    private static ulong SplitMix(ref ulong x)
    {
        var z = x += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    private static ulong RotateLeft(ulong x, int k) => (x << k) | (x >> (64 - k));
}
