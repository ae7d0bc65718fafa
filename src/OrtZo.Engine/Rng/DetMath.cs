namespace OrtZo.Engine.Rng;

/// <summary>
/// Float32 logarithm and turn-based sine/cosine whose results are fixed bit for bit by IEEE-754:
/// every step is +, −, ×, an explicit fused multiply-add, a correctly rounded square root, an exact
/// int↔float conversion or a bit operation. MathF.Log/Sin/Cos are deliberately avoided because
/// their last-bit behaviour differs between libm versions, CPU vendors and CUDA's libdevice; the
/// CUDA port replays these exact steps (see docs/rng.md) so CPU and GPU noise agree bit for bit.
/// The vector twins in <see cref="DetMathVector"/> must stay op-for-op identical to this file.
/// </summary>
internal static class DetMath
{
    // ln(1+f) ≈ f + f²·Q(f) on f ∈ [√½−1, √2−1]; Q is a weighted minimax fit (weight f²/|ln(1+f)|,
    // i.e. relative error of the final log), degree 8. Factoring out f² keeps the polynomial short
    // and makes ln(1+f) relatively accurate even for tiny f, which is where u → 1 lands.
    internal const float LogQ0 = -0.49999988f;   // 0xbefffffc
    internal const float LogQ1 = 0.33333325f;    // 0x3eaaaaa8
    internal const float LogQ2 = -0.25001585f;   // 0xbe800214
    internal const float LogQ3 = 0.20001984f;    // 0x3e4cd200
    internal const float LogQ4 = -0.16609f;      // 0xbe2a137f
    internal const float LogQ5 = 0.14181581f;    // 0x3e11382a
    internal const float LogQ6 = -0.13243471f;   // 0xbe079cf7
    internal const float LogQ7 = 0.12906325f;    // 0x3e042928
    internal const float LogQ8 = -0.076229356f;  // 0xbd9c1e23

    // ln 2 split in two floats so e·ln2 keeps ~48 bits before the final rounding.
    internal const float Ln2Hi = 0.6931472f;      // 0x3f317218
    internal const float Ln2Lo = -1.9046542e-09f; // 0xb102e308

    // Bits of the float just below √½ (0x1.6a09e6p-1): mantissas are re-centred around 1 so the
    // polynomial argument stays in [√½−1, √2−1] instead of [0, 1).
    internal const int SqrtHalfBits = 0x3f3504f3;

    // sin(π/2·v) ≈ v·(π/2) + v³·S(v²) and cos(π/2·v) ≈ 1 + v²·C(v²) on v ∈ [−½, ½]; weighted
    // (relative-error) minimax fits. π/2 is split so the dominant v·π/2 term loses nothing to the
    // rounding of π/2 itself.
    internal const float HalfPiHi = 1.5707964f;    // 0x3fc90fdb
    internal const float HalfPiLo = -4.371139e-08f; // 0xb33bbd2e
    internal const float SinS0 = -0.6459636f;      // 0xbf255ddf
    internal const float SinS1 = 0.079681404f;     // 0x3da33001
    internal const float SinS2 = -0.0046048034f;   // 0xbb96e3e4
    internal const float CosC0 = -1.2337005f;      // 0xbf9de9e6
    internal const float CosC1 = 0.25366923f;      // 0x3e81e0ef
    internal const float CosC2 = -0.020860162f;    // 0xbcaae2ee
    internal const float CosC3 = 0.00090376026f;   // 0x3a6cea53

    // 1.5·2^23: adding it to |t| < 2^22 rounds t to the nearest integer (ties to even) and leaves
    // that integer in the low mantissa bits, giving both the rounded value and the quadrant
    // using only float adds and bit masks.
    internal const float RoundingShifter = 12582912f; // 0x4b400000

    /// <summary>Natural log for positive normal floats (the Box–Muller domain is [2^-24, 1)).</summary>
    internal static float Log(float x)
    {
        int bits = BitConverter.SingleToInt32Bits(x) - SqrtHalfBits;
        float e = bits >> 23;                       // exact: |e| ≤ 128
        float m = BitConverter.Int32BitsToSingle((bits & 0x007fffff) + SqrtHalfBits);
        float f = m - 1f;                           // exact (Sterbenz): m ∈ [√½, √2)
        float q = MathF.FusedMultiplyAdd(LogQ8, f, LogQ7);
        q = MathF.FusedMultiplyAdd(q, f, LogQ6);
        q = MathF.FusedMultiplyAdd(q, f, LogQ5);
        q = MathF.FusedMultiplyAdd(q, f, LogQ4);
        q = MathF.FusedMultiplyAdd(q, f, LogQ3);
        q = MathF.FusedMultiplyAdd(q, f, LogQ2);
        q = MathF.FusedMultiplyAdd(q, f, LogQ1);
        q = MathF.FusedMultiplyAdd(q, f, LogQ0);
        float f2 = f * f;
        float lnm = MathF.FusedMultiplyAdd(f2, q, f);
        return MathF.FusedMultiplyAdd(e, Ln2Hi, MathF.FusedMultiplyAdd(e, Ln2Lo, lnm));
    }

    /// <summary>
    /// sin(2πu) and cos(2πu) for |u| &lt; 2^20. Working in turns rather than radians makes the
    /// quarter-turn reduction exact, so there is no π rounding to propagate and results stay
    /// relatively accurate next to every zero crossing.
    /// </summary>
    internal static void SinCos2Pi(float u, out float sin, out float cos)
    {
        float t = u * 4f;                           // exact: power-of-two scaling
        float shifted = t + RoundingShifter;
        int quadrant = BitConverter.SingleToInt32Bits(shifted);
        float k = shifted - RoundingShifter;        // exact: nearest integer to t
        float v = t - k;                            // exact, v ∈ [−½, ½]

        float w = v * v;
        float s = MathF.FusedMultiplyAdd(SinS2, w, SinS1);
        s = MathF.FusedMultiplyAdd(s, w, SinS0);
        float v3 = v * w;
        s = v3 * s;
        s = MathF.FusedMultiplyAdd(v, HalfPiLo, s);
        s = MathF.FusedMultiplyAdd(v, HalfPiHi, s);

        float c = MathF.FusedMultiplyAdd(CosC3, w, CosC2);
        c = MathF.FusedMultiplyAdd(c, w, CosC1);
        c = MathF.FusedMultiplyAdd(c, w, CosC0);
        c = MathF.FusedMultiplyAdd(w, c, 1f);

        // sin(kπ/2 + θ): odd quadrants swap sin and cos; sign flips are sign-bit XORs so they are exact.
        bool swap = (quadrant & 1) != 0;
        int sinSign = (quadrant & 2) << 30;
        int cosSign = ((quadrant + 1) & 2) << 30;
        float sinAbs = swap ? c : s;
        float cosAbs = swap ? s : c;
        sin = BitConverter.Int32BitsToSingle(BitConverter.SingleToInt32Bits(sinAbs) ^ sinSign);
        cos = BitConverter.Int32BitsToSingle(BitConverter.SingleToInt32Bits(cosAbs) ^ cosSign);
    }
}
