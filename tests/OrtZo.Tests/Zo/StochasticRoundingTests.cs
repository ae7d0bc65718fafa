using NUnit.Framework;
using OrtZo.Engine;
using OrtZo.Engine.Rng;
using OrtZo.WeightStore;

namespace OrtZo.Tests.Zo;

/// <summary>
/// Stochastic rounding against its definition rather than against its own code: a value at fractional position f
/// between two adjacent 16-bit neighbours rounds away from zero with probability f. Over N draws of the very
/// rounding stream the kernels use, the observed frequency must lie within 5 binomial standard deviations of f,
/// and every result must be one of the two neighbours.
/// </summary>
public class StochasticRoundingTests
{
    private const int Draws = 200_000;

    /// <summary>(storage type, lower-magnitude neighbour's bits, fraction numerator, denominator = 2^(float32 bits below the 16-bit grid)).</summary>
    public static IEnumerable<TestCaseData> Cases()
    {
        // bf16 keeps the top 16 bits of a float32: positions are k / 65536
        foreach (var (bits, k, what) in new (ushort, int, string)[]
        {
            (0x3F80, 8192, "1.0 + 1/8 ulp"), (0x3F80, 21845, "1.0 + 1/3 ulp"), (0x3F80, 32768, "1.0 + 1/2 ulp (a tie)"),
            (0x3C23, 58982, "0.01 + 0.9 ulp"), (0xBF80, 16384, "−1.0 − 1/4 ulp (away from zero is more negative)"),
            (0x3FFF, 49152, "just below 2: the upper neighbour is 2.0, a new binade"), (0x0001, 30000, "the smallest subnormal"),
            (0x3F80, 1, "1.0 + 1/65536 ulp (rarely up)"), (0x3F80, 65535, "1.0 + 65535/65536 ulp (rarely down)"),
        })
            yield return new TestCaseData("bf16", (int)bits, k, 65536).SetName($"bf16 {what}");
        // f16: float32 carries 13 bits below f16's mantissa: positions are k / 8192
        foreach (var (bits, k, what) in new (ushort, int, string)[]
        {
            (0x3C00, 1024, "1.0 + 1/8 ulp"), (0x3C00, 2731, "1.0 + 1/3 ulp"), (0x3C00, 4096, "1.0 + 1/2 ulp (a tie)"),
            (0xBC00, 6144, "−1.0 − 3/4 ulp"), (0x3BFF, 2048, "just below 1: the upper neighbour is 1.0"),
            (0x0001, 4000, "the smallest subnormal"), (0x03FF, 7000, "the largest subnormal, towards the smallest normal"),
            (0x7BFE, 5000, "below the largest finite value"),
        })
            yield return new TestCaseData("f16", (int)bits, k, 8192).SetName($"f16 {what}");
    }

    [TestCaseSource(nameof(Cases))]
    public void RoundsUpWithTheProbabilityOfTheFractionalPosition(string dtypeName, int lowerBits, int k, int denominator)
    {
        var dtype = TestDTypes.Parse(dtypeName);
        float lower = Widen(dtype, (ushort)lowerBits);
        float upper = Widen(dtype, NextAwayFromZero(dtype, (ushort)lowerBits));
        float v = Between(dtype, (ushort)lowerBits, k);
        double f = (double)k / denominator;
        Assert.That((v - (double)lower) / (upper - (double)lower), Is.EqualTo(f).Within(1e-12), "the test value sits at the stated position");

        var bits = new uint[Draws];
        Noise.FillUniformBits(0x5EED_0000 + (ulong)lowerBits, NoiseStream.StochasticRounding, 12345, bits);
        int up = 0;
        for (int i = 0; i < Draws; i++)
        {
            float r = Rounding.Stochastic(v, dtype, bits[i]);
            if (BitConverter.SingleToInt32Bits(r) == BitConverter.SingleToInt32Bits(upper)) up++;
            else Assert.That(BitConverter.SingleToInt32Bits(r), Is.EqualTo(BitConverter.SingleToInt32Bits(lower)), $"draw {i} gave {r}, not a neighbour");
        }
        double observed = (double)up / Draws;
        double bound = 5 * Math.Sqrt(f * (1 - f) / Draws) + 1.0 / Draws;
        TestContext.Out.WriteLine($"{dtypeName} {v:R}: up {observed:F5}, expected {f:F5} ± {bound:F5}");
        Assert.That(observed, Is.EqualTo(f).Within(bound));
    }

    [Test]
    public void ExactValuesNeverMove()
    {
        var bits = new uint[4096];
        Noise.FillUniformBits(1, NoiseStream.StochasticRounding, 0, bits);
        foreach (var dtype in new[] { DType.BF16, DType.F16 })
            foreach (ushort b in new ushort[] { 0x3F80, 0x0000, 0x8000, 0x0001, 0x3C00, 0xBC00 })
            {
                float v = Widen(dtype, b);
                foreach (uint r in bits)
                    Assert.That(BitConverter.SingleToInt32Bits(Rounding.Stochastic(v, dtype, r)), Is.EqualTo(BitConverter.SingleToInt32Bits(v)), $"{dtype} {v}");
            }
    }

    private static float Widen(DType dtype, ushort bits) => dtype == DType.BF16
        ? BitConverter.UInt32BitsToSingle((uint)bits << 16)
        : (float)BitConverter.UInt16BitsToHalf(bits);

    // Magnitudes grow with the bit pattern for both formats; the sign bit stays.
    private static ushort NextAwayFromZero(DType dtype, ushort bits) => (ushort)(bits + 1);

    private static float Between(DType dtype, ushort lowerBits, int k)
    {
        if (dtype == DType.BF16) return BitConverter.UInt32BitsToSingle(((uint)lowerBits << 16) + (uint)k);
        double lower = Widen(dtype, lowerBits), upper = Widen(dtype, NextAwayFromZero(dtype, lowerBits));
        return (float)(lower + (upper - lower) * k / 8192);   // exact: f16 spacing / 8192 is on the float32 grid
    }
}
