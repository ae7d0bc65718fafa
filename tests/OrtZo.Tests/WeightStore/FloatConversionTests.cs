using NUnit.Framework;
using OrtZo.WeightStore;

namespace OrtZo.Tests.WeightStore;

public class FloatConversionTests
{
    // Reference: round the float to bf16 by exact arithmetic in double (nearest, ties to even).
    private static ushort ReferenceBf16(float x)
    {
        if (float.IsNaN(x)) return 0x7FC0;
        uint bits = BitConverter.SingleToUInt32Bits(x);
        ushort down = (ushort)(bits >> 16);
        ushort up = (ushort)(down + 1);
        double lo = FloatConversions.Bf16ToFloat32(down), hi = FloatConversions.Bf16ToFloat32(up);
        double dl = Math.Abs(x - lo), dh = Math.Abs(hi - x);
        if ((bits & 0xFFFF) == 0) return down;
        if (dl < dh) return down;
        if (dh < dl) return up;
        return (down & 1) == 0 ? down : up;
    }

    [Test]
    public void Bf16RoundsToNearestEven()
    {
        var rnd = new Random(3);
        for (int i = 0; i < 200_000; i++)
        {
            float x = BitConverter.UInt32BitsToSingle((uint)rnd.NextInt64(0, 0x7F7F_FFFF)) * (rnd.Next(2) == 0 ? 1 : -1);
            ushort got = FloatConversions.Float32ToBf16(x), want = ReferenceBf16(x);
            if (got != want && !(float.IsInfinity(FloatConversions.Bf16ToFloat32(got)))) Assert.Fail($"{x:R}: got {got:X4}, want {want:X4}");
        }
        // exact ties go to even
        Assert.That(FloatConversions.Float32ToBf16(BitConverter.UInt32BitsToSingle(0x3F80_8000)), Is.EqualTo((ushort)0x3F80));
        Assert.That(FloatConversions.Float32ToBf16(BitConverter.UInt32BitsToSingle(0x3F81_8000)), Is.EqualTo((ushort)0x3F82));
        Assert.That(float.IsNaN(FloatConversions.Bf16ToFloat32(FloatConversions.Float32ToBf16(float.NaN))), Is.True);
    }

    [Test]
    public void F16MatchesHalfCast()
    {
        var rnd = new Random(4);
        for (int i = 0; i < 10_000; i++)
        {
            float x = (float)(rnd.NextDouble() * 2 - 1) * 70000f;
            Assert.That(FloatConversions.F16ToFloat32(FloatConversions.Float32ToF16(x)), Is.EqualTo((float)(Half)x));
        }
    }
}
