using System.Numerics.Tensors;
using System.Runtime.InteropServices;

namespace OrtZo.WeightStore;

/// <summary>
/// Conversions between float32 and the 16-bit float storage types. Float32 → 16-bit rounds to nearest,
/// ties to even (the rounding the engine's kernels use, on CPU and GPU alike); NaN stays NaN.
/// </summary>
internal static class FloatConversions
{
    public static ushort Float32ToBf16(float value)
    {
        uint bits = BitConverter.SingleToUInt32Bits(value);
        if ((bits & 0x7FFF_FFFFu) > 0x7F80_0000u) // NaN: keep it quiet and keep the sign
            return (ushort)((bits >> 16) | 0x0040u);
        uint roundingBias = 0x7FFFu + ((bits >> 16) & 1u);
        return (ushort)((bits + roundingBias) >> 16);
    }

    public static float Bf16ToFloat32(ushort value) => BitConverter.UInt32BitsToSingle((uint)value << 16);

    public static ushort Float32ToF16(float value) => BitConverter.HalfToUInt16Bits((Half)value);

    public static float F16ToFloat32(ushort value) => (float)BitConverter.UInt16BitsToHalf(value);

    /// <summary>Decodes <paramref name="source"/> (raw little-endian bytes of <paramref name="dtype"/>) into floats.</summary>
    public static void ToFloat32(DType dtype, ReadOnlySpan<byte> source, Span<float> destination, string? path = null, string? tensor = null)
    {
        long count = source.Length / dtype.SizeInBytes();
        if (count != destination.Length)
            throw new ArgumentException($"{source.Length} bytes of {dtype} do not make {destination.Length} elements");
        switch (dtype)
        {
            case DType.F32:
                MemoryMarshal.Cast<byte, float>(source).CopyTo(destination);
                break;
            case DType.F16:
                TensorPrimitives.ConvertToSingle(MemoryMarshal.Cast<byte, Half>(source), destination);
                break;
            case DType.BF16:
                var b = MemoryMarshal.Cast<byte, ushort>(source);
                for (int i = 0; i < b.Length; i++) destination[i] = Bf16ToFloat32(b[i]);
                break;
            default:
                throw WeightStoreErrors.Fail(WeightStoreError.UnsupportedDType, path, tensor, $"{dtype} cannot be read as float");
        }
    }

    /// <summary>Encodes floats into raw bytes of <paramref name="dtype"/>, rounding to nearest even.</summary>
    public static void FromFloat32(ReadOnlySpan<float> source, DType dtype, Span<byte> destination)
    {
        if (destination.Length != source.Length * dtype.SizeInBytes())
            throw new ArgumentException($"{source.Length} floats do not fill {destination.Length} bytes of {dtype}");
        switch (dtype)
        {
            case DType.F32:
                MemoryMarshal.AsBytes(source).CopyTo(destination);
                break;
            case DType.F16:
                TensorPrimitives.ConvertToHalf(source, MemoryMarshal.Cast<byte, Half>(destination));
                break;
            case DType.BF16:
                var b = MemoryMarshal.Cast<byte, ushort>(destination);
                for (int i = 0; i < source.Length; i++) b[i] = Float32ToBf16(source[i]);
                break;
            default:
                throw WeightStoreErrors.Fail(WeightStoreError.UnsupportedDType, null, null, $"{dtype} is not a float type");
        }
    }
}
