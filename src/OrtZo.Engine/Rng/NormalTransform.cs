using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace OrtZo.Engine.Rng;

/// <summary>Box–Muller over lane pairs (0,1) and (2,3): element 4b+0 = r0·cos, 4b+1 = r0·sin, 4b+2 = r1·cos, 4b+3 = r1·sin.</summary>
internal readonly struct NormalTransform : IBlockTransform<float>
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void ScalarBlock(uint x0, uint x1, uint x2, uint x3, ref float destination)
    {
        BoxMuller.Transform(x0, x1, out destination, out Unsafe.Add(ref destination, 1));
        BoxMuller.Transform(x2, x3, out Unsafe.Add(ref destination, 2), out Unsafe.Add(ref destination, 3));
    }

    // The pair members sit in even/odd words, so a same-pattern shuffle of both inputs gathers all
    // radius words into one vector and all angle words into another (same order in both), letting
    // log and sin/cos run at full width; unpacking restores element order because the shuffle kept
    // 128-bit lanes apart.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Vector256Blocks(Vector256<uint> a, Vector256<uint> b, ref float destination)
    {
        Vector256<float> ua = NoiseLayout.ToUniform(a);
        Vector256<float> ub = NoiseLayout.ToUniform(b);
        Vector256<float> radiusU = Avx.Shuffle(ua, ub, 0b10_00_10_00);
        Vector256<float> angleU = Avx.Shuffle(ua, ub, 0b11_01_11_01);
        Vector256<float> radius = Vector256.Sqrt(
            DetMathVector.Log(radiusU) * Vector256.Create(-2f));
        DetMathVector.SinCos2Pi(angleU, out Vector256<float> sin, out Vector256<float> cos);
        Vector256<float> zc = radius * cos;
        Vector256<float> zs = radius * sin;
        Vector256.StoreUnsafe(Avx.UnpackLow(zc, zs), ref destination);
        Vector256.StoreUnsafe(Avx.UnpackHigh(zc, zs), ref destination, 8);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Vector512Blocks(Vector512<uint> a, Vector512<uint> b, ref float destination)
    {
        Vector512<float> ua = NoiseLayout.ToUniform(a);
        Vector512<float> ub = NoiseLayout.ToUniform(b);
        Vector512<float> radiusU = Avx512F.Shuffle(ua, ub, 0b10_00_10_00);
        Vector512<float> angleU = Avx512F.Shuffle(ua, ub, 0b11_01_11_01);
        Vector512<float> radius = Vector512.Sqrt(
            DetMathVector.Log(radiusU) * Vector512.Create(-2f));
        DetMathVector.SinCos2Pi(angleU, out Vector512<float> sin, out Vector512<float> cos);
        Vector512<float> zc = radius * cos;
        Vector512<float> zs = radius * sin;
        Vector512.StoreUnsafe(Avx512F.UnpackLow(zc, zs), ref destination);
        Vector512.StoreUnsafe(Avx512F.UnpackHigh(zc, zs), ref destination, 16);
    }
}
