using System.Numerics;
using OrtZo.WeightStore;

namespace OrtZo.Engine;

/// <summary>Vectorised bf16 conversions, bit-identical to <see cref="FloatConversions"/> (nearest even, NaN kept quiet).</summary>
internal static class Bf16
{
    public static void Widen(ReadOnlySpan<ushort> source, Span<float> destination)
    {
        for (int i = 0; i < source.Length; i++) destination[i] = BitConverter.UInt32BitsToSingle((uint)source[i] << 16);
    }

    public static void Narrow(ReadOnlySpan<float> source, Span<ushort> destination)
    {
        for (int i = 0; i < source.Length; i++) destination[i] = FloatConversions.Float32ToBf16(source[i]);
    }

    /// <summary>v ← bf16(v) widened back, in place.</summary>
    public static void RoundInPlace(Span<float> v)
    {
        int i = 0;
        var absMask = new Vector<uint>(0x7FFF_FFFFu);
        var infinity = new Vector<uint>(0x7F80_0000u);
        var bias = new Vector<uint>(0x7FFFu);
        var one = new Vector<uint>(1u);
        var high = new Vector<uint>(0xFFFF_0000u);
        var quiet = new Vector<uint>(0x0040_0000u);
        for (; i <= v.Length - Vector<float>.Count; i += Vector<float>.Count)
        {
            var bits = Vector.AsVectorUInt32(new Vector<float>(v.Slice(i)));
            var rounded = (bits + bias + ((bits >> 16) & one)) & high;
            var nan = Vector.GreaterThan(bits & absMask, infinity);
            var result = Vector.ConditionalSelect(nan, (bits & high) | quiet, rounded);
            Vector.AsVectorSingle(result).CopyTo(v.Slice(i));
        }
        for (; i < v.Length; i++) v[i] = FloatConversions.Bf16ToFloat32(FloatConversions.Float32ToBf16(v[i]));
    }
}
