using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace OrtZo.Engine.Rng;

/// <summary>
/// Lane-wise twins of <see cref="DetMath"/>. Each must perform the same IEEE operations in the same
/// order as the scalar code — no Estrin reordering, no merged constants — because the scalar code is
/// the specification the CUDA kernels and the tests compare against bit for bit.
/// </summary>
internal static class DetMathVector
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector512<float> Log(Vector512<float> x)
    {
        Vector512<int> bits = x.AsInt32() - Vector512.Create(DetMath.SqrtHalfBits);
        Vector512<float> e = Vector512.ConvertToSingle(Vector512.ShiftRightArithmetic(bits, 23));
        Vector512<float> m = ((bits & Vector512.Create(0x007fffff)) + Vector512.Create(DetMath.SqrtHalfBits)).AsSingle();
        Vector512<float> f = m - Vector512.Create(1f);
        Vector512<float> q = Vector512.FusedMultiplyAdd(Vector512.Create(DetMath.LogQ8), f, Vector512.Create(DetMath.LogQ7));
        q = Vector512.FusedMultiplyAdd(q, f, Vector512.Create(DetMath.LogQ6));
        q = Vector512.FusedMultiplyAdd(q, f, Vector512.Create(DetMath.LogQ5));
        q = Vector512.FusedMultiplyAdd(q, f, Vector512.Create(DetMath.LogQ4));
        q = Vector512.FusedMultiplyAdd(q, f, Vector512.Create(DetMath.LogQ3));
        q = Vector512.FusedMultiplyAdd(q, f, Vector512.Create(DetMath.LogQ2));
        q = Vector512.FusedMultiplyAdd(q, f, Vector512.Create(DetMath.LogQ1));
        q = Vector512.FusedMultiplyAdd(q, f, Vector512.Create(DetMath.LogQ0));
        Vector512<float> f2 = f * f;
        Vector512<float> lnm = Vector512.FusedMultiplyAdd(f2, q, f);
        Vector512<float> low = Vector512.FusedMultiplyAdd(e, Vector512.Create(DetMath.Ln2Lo), lnm);
        return Vector512.FusedMultiplyAdd(e, Vector512.Create(DetMath.Ln2Hi), low);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector256<float> Log(Vector256<float> x)
    {
        Vector256<int> bits = x.AsInt32() - Vector256.Create(DetMath.SqrtHalfBits);
        Vector256<float> e = Vector256.ConvertToSingle(Vector256.ShiftRightArithmetic(bits, 23));
        Vector256<float> m = ((bits & Vector256.Create(0x007fffff)) + Vector256.Create(DetMath.SqrtHalfBits)).AsSingle();
        Vector256<float> f = m - Vector256.Create(1f);
        Vector256<float> q = Vector256.FusedMultiplyAdd(Vector256.Create(DetMath.LogQ8), f, Vector256.Create(DetMath.LogQ7));
        q = Vector256.FusedMultiplyAdd(q, f, Vector256.Create(DetMath.LogQ6));
        q = Vector256.FusedMultiplyAdd(q, f, Vector256.Create(DetMath.LogQ5));
        q = Vector256.FusedMultiplyAdd(q, f, Vector256.Create(DetMath.LogQ4));
        q = Vector256.FusedMultiplyAdd(q, f, Vector256.Create(DetMath.LogQ3));
        q = Vector256.FusedMultiplyAdd(q, f, Vector256.Create(DetMath.LogQ2));
        q = Vector256.FusedMultiplyAdd(q, f, Vector256.Create(DetMath.LogQ1));
        q = Vector256.FusedMultiplyAdd(q, f, Vector256.Create(DetMath.LogQ0));
        Vector256<float> f2 = f * f;
        Vector256<float> lnm = Vector256.FusedMultiplyAdd(f2, q, f);
        Vector256<float> low = Vector256.FusedMultiplyAdd(e, Vector256.Create(DetMath.Ln2Lo), lnm);
        return Vector256.FusedMultiplyAdd(e, Vector256.Create(DetMath.Ln2Hi), low);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void SinCos2Pi(Vector512<float> u, out Vector512<float> sin, out Vector512<float> cos)
    {
        Vector512<float> shifter = Vector512.Create(DetMath.RoundingShifter);
        Vector512<float> t = u * Vector512.Create(4f);
        Vector512<float> shifted = t + shifter;
        Vector512<int> quadrant = shifted.AsInt32();
        Vector512<float> k = shifted - shifter;
        Vector512<float> v = t - k;

        Vector512<float> w = v * v;
        Vector512<float> s = Vector512.FusedMultiplyAdd(Vector512.Create(DetMath.SinS2), w, Vector512.Create(DetMath.SinS1));
        s = Vector512.FusedMultiplyAdd(s, w, Vector512.Create(DetMath.SinS0));
        Vector512<float> v3 = v * w;
        s = v3 * s;
        s = Vector512.FusedMultiplyAdd(v, Vector512.Create(DetMath.HalfPiLo), s);
        s = Vector512.FusedMultiplyAdd(v, Vector512.Create(DetMath.HalfPiHi), s);

        Vector512<float> c = Vector512.FusedMultiplyAdd(Vector512.Create(DetMath.CosC3), w, Vector512.Create(DetMath.CosC2));
        c = Vector512.FusedMultiplyAdd(c, w, Vector512.Create(DetMath.CosC1));
        c = Vector512.FusedMultiplyAdd(c, w, Vector512.Create(DetMath.CosC0));
        c = Vector512.FusedMultiplyAdd(w, c, Vector512.Create(1f));

        Vector512<int> two = Vector512.Create(2);
        Vector512<float> swap = Vector512.Equals(quadrant & Vector512<int>.One, Vector512<int>.One).AsSingle();
        Vector512<int> sinSign = Vector512.ShiftLeft(quadrant & two, 30);
        Vector512<int> cosSign = Vector512.ShiftLeft((quadrant + Vector512<int>.One) & two, 30);
        sin = (Vector512.ConditionalSelect(swap, c, s).AsInt32() ^ sinSign).AsSingle();
        cos = (Vector512.ConditionalSelect(swap, s, c).AsInt32() ^ cosSign).AsSingle();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void SinCos2Pi(Vector256<float> u, out Vector256<float> sin, out Vector256<float> cos)
    {
        Vector256<float> shifter = Vector256.Create(DetMath.RoundingShifter);
        Vector256<float> t = u * Vector256.Create(4f);
        Vector256<float> shifted = t + shifter;
        Vector256<int> quadrant = shifted.AsInt32();
        Vector256<float> k = shifted - shifter;
        Vector256<float> v = t - k;

        Vector256<float> w = v * v;
        Vector256<float> s = Vector256.FusedMultiplyAdd(Vector256.Create(DetMath.SinS2), w, Vector256.Create(DetMath.SinS1));
        s = Vector256.FusedMultiplyAdd(s, w, Vector256.Create(DetMath.SinS0));
        Vector256<float> v3 = v * w;
        s = v3 * s;
        s = Vector256.FusedMultiplyAdd(v, Vector256.Create(DetMath.HalfPiLo), s);
        s = Vector256.FusedMultiplyAdd(v, Vector256.Create(DetMath.HalfPiHi), s);

        Vector256<float> c = Vector256.FusedMultiplyAdd(Vector256.Create(DetMath.CosC3), w, Vector256.Create(DetMath.CosC2));
        c = Vector256.FusedMultiplyAdd(c, w, Vector256.Create(DetMath.CosC1));
        c = Vector256.FusedMultiplyAdd(c, w, Vector256.Create(DetMath.CosC0));
        c = Vector256.FusedMultiplyAdd(w, c, Vector256.Create(1f));

        Vector256<int> two = Vector256.Create(2);
        Vector256<float> swap = Vector256.Equals(quadrant & Vector256<int>.One, Vector256<int>.One).AsSingle();
        Vector256<int> sinSign = Vector256.ShiftLeft(quadrant & two, 30);
        Vector256<int> cosSign = Vector256.ShiftLeft((quadrant + Vector256<int>.One) & two, 30);
        sin = (Vector256.ConditionalSelect(swap, c, s).AsInt32() ^ sinSign).AsSingle();
        cos = (Vector256.ConditionalSelect(swap, s, c).AsInt32() ^ cosSign).AsSingle();
    }
}
