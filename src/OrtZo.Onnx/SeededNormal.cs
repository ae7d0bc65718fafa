namespace OrtZo.Onnx;

/// <summary>
/// Normal draws from a seed with a fully specified algorithm, so a built model is the same on every machine
/// and .NET version (System.Random's algorithm is not specified). SplitMix64 (Steele, Lea, Flood 2014) gives
/// 64-bit words; the top 53 bits make a uniform in (0, 1]; Box–Muller turns pairs of uniforms into pairs of
/// normals. Only libm's last-bit differences in log/cos/sin could change a value, and those vanish when the
/// double is rounded to float in all but rare ties.
/// </summary>
internal sealed class SeededNormal
{
    private ulong _state;
    private double? _spare;

    public SeededNormal(ulong seed) => _state = seed;

    public ulong NextUInt64()
    {
        ulong z = _state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>Uniform in (0, 1]: never 0, so the logarithm below is finite.</summary>
    public double NextUniform() => ((NextUInt64() >> 11) + 1) * (1.0 / (1UL << 53));

    public double NextNormal()
    {
        if (_spare is double spare)
        {
            _spare = null;
            return spare;
        }
        double radius = Math.Sqrt(-2.0 * Math.Log(NextUniform()));
        double angle = 2.0 * Math.PI * NextUniform();
        _spare = radius * Math.Sin(angle);
        return radius * Math.Cos(angle);
    }

    /// <summary><paramref name="count"/> values mean + std·N(0,1).</summary>
    public float[] Normal(long count, float std, float mean = 0f)
    {
        var values = new float[count];
        for (long i = 0; i < count; i++) values[i] = (float)(mean + std * NextNormal());
        return values;
    }
}
