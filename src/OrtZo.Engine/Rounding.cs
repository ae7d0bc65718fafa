using OrtZo.WeightStore;

namespace OrtZo.Engine;

/// <summary>
/// Stochastic rounding of an updated float32 weight to its 16-bit storage type: it rounds away from zero
/// with probability equal to the distance to the lower-magnitude neighbour in ulps, so an update smaller
/// than half an ulp still moves the weight on average. The random bits come from the counter RNG, so a
/// run stays reproducible. Non-finite values and f32 storage round to nearest.
/// </summary>
internal static class Rounding
{
    public static float Stochastic(float v, DType dtype, uint bits) => dtype switch
    {
        DType.F32 => v,
        DType.BF16 => StochasticBf16(v, bits),
        DType.F16 => StochasticF16(v, bits),
        _ => throw new NotSupportedException(dtype.ToString()),
    };

    // bf16 keeps the top 16 bits of a float32: adding 16 random bits below them and truncating rounds away
    // from zero with exactly the right probability (a carry may bump the exponent, which is the right neighbour).
    public static float StochasticBf16(float v, uint bits)
    {
        if (!float.IsFinite(v)) return FloatConversions.Bf16ToFloat32(FloatConversions.Float32ToBf16(v));
        uint u = BitConverter.SingleToUInt32Bits(v);
        uint r = (u + (bits & 0xFFFFu)) & 0xFFFF_0000u;
        return BitConverter.UInt32BitsToSingle(r);
    }

    // f16: the spacing at |v| is 2^(e−10) for e = max(exponent(|v|), −14); lower neighbour lo = ⌊|v|/ulp⌋·ulp
    // and the fraction (|v|−lo)/ulp are exact in float32 (scaling by powers of two), compared with a 24-bit uniform.
    public static float StochasticF16(float v, uint bits)
    {
        float a = MathF.Abs(v);
        if (!float.IsFinite(v) || a >= 65504f) return (float)(Half)v;
        int exponent = Math.Max(((int)(BitConverter.SingleToUInt32Bits(a) >> 23) & 0xFF) - 127, -14);
        float ulp = MathF.ScaleB(1f, exponent - 10);
        float inv = MathF.ScaleB(1f, 10 - exponent);
        float scaled = a * inv;                   // exact: power-of-two scaling within range
        float floor = MathF.Floor(scaled);
        float fraction = scaled - floor;          // exact
        float uniform = (bits >> 8) * (1f / 16777216f);
        float magnitude = (uniform < fraction ? floor + 1f : floor) * ulp;
        float result = float.IsNegative(v) ? -magnitude : magnitude;   // the sign bit, so −0 stays −0
        return (float)(Half)result;               // exact: result is an f16 value (or 65504 rounding up to max)
    }
}
