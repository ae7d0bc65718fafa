using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace OrtZo.Engine.Rng;

/// <summary>
/// Philox4x32-10 on several blocks at once, one block per 128-bit lane in natural word order
/// [c0 c1 c2 c3]. That layout suits x86: the unsigned 32×32→64 multiply (vpmuludq) reads exactly
/// words 0 and 2 of each lane, which are the two words Philox multiplies, and the outputs come out
/// already in element order, so no transpose is needed before storing.
/// </summary>
internal static class PhiloxVector
{
    // Words 1 and 3 are ignored by vpmuludq, so zero is as good as anything there.
    private static Vector512<uint> Multipliers512 =>
        Vector512.Create(Philox4x32.Multiplier0, 0u, Philox4x32.Multiplier1, 0u,
                         Philox4x32.Multiplier0, 0u, Philox4x32.Multiplier1, 0u,
                         Philox4x32.Multiplier0, 0u, Philox4x32.Multiplier1, 0u,
                         Philox4x32.Multiplier0, 0u, Philox4x32.Multiplier1, 0u);

    private static Vector256<uint> Multipliers256 =>
        Vector256.Create(Philox4x32.Multiplier0, 0u, Philox4x32.Multiplier1, 0u,
                         Philox4x32.Multiplier0, 0u, Philox4x32.Multiplier1, 0u);

    /// <summary>Key laid out as [k0 0 k1 0] per lane, ready to XOR into words 0 and 2.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector512<uint> Key512(ulong seed)
    {
        ulong k0 = (uint)seed, k1 = seed >> 32;
        return Vector512.Create(k0, k1, k0, k1, k0, k1, k0, k1).AsUInt32();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector256<uint> Key256(ulong seed)
    {
        ulong k0 = (uint)seed, k1 = seed >> 32;
        return Vector256.Create(k0, k1, k0, k1).AsUInt32();
    }

    private static Vector512<uint> KeyIncrement512 =>
        Vector512.Create((ulong)Philox4x32.KeyIncrement0, Philox4x32.KeyIncrement1,
                         Philox4x32.KeyIncrement0, Philox4x32.KeyIncrement1,
                         Philox4x32.KeyIncrement0, Philox4x32.KeyIncrement1,
                         Philox4x32.KeyIncrement0, Philox4x32.KeyIncrement1).AsUInt32();

    private static Vector256<uint> KeyIncrement256 =>
        Vector256.Create((ulong)Philox4x32.KeyIncrement0, Philox4x32.KeyIncrement1,
                         Philox4x32.KeyIncrement0, Philox4x32.KeyIncrement1).AsUInt32();

    /// <summary>
    /// Encrypts two independent counter vectors in place. Interleaving their rounds in one loop keeps
    /// both multiply chains in flight (≈10% faster than running them back to back).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Generate(ref Vector512<uint> a, ref Vector512<uint> b, Vector512<uint> key)
    {
        Vector512<uint> multipliers = Multipliers512;
        Vector512<uint> increment = KeyIncrement512;
        a = Round(a, key, multipliers);
        b = Round(b, key, multipliers);
        for (int round = 1; round < Philox4x32.Rounds; round++)
        {
            key += increment;
            a = Round(a, key, multipliers);
            b = Round(b, key, multipliers);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Generate(ref Vector256<uint> a, ref Vector256<uint> b, Vector256<uint> key)
    {
        Vector256<uint> multipliers = Multipliers256;
        Vector256<uint> increment = KeyIncrement256;
        a = Round(a, key, multipliers);
        b = Round(b, key, multipliers);
        for (int round = 1; round < Philox4x32.Rounds; round++)
        {
            key += increment;
            a = Round(a, key, multipliers);
            b = Round(b, key, multipliers);
        }
    }

    // Products per lane are [lo0 hi0 lo1 hi1]; reversing the words gives [hi1 lo1 hi0 lo0], which is
    // the Philox output once c1 and c3 (brought down by a 64-bit shift) and the key are XORed in.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<uint> Round(Vector512<uint> counter, Vector512<uint> key, Vector512<uint> multipliers)
    {
        Vector512<uint> products = Avx512F.Multiply(counter, multipliers).AsUInt32();
        Vector512<uint> swapped = Avx512F.Shuffle(products, 0b00_01_10_11);
        Vector512<uint> oddWords = Vector512.ShiftRightLogical(counter.AsUInt64(), 32).AsUInt32();
        return swapped ^ oddWords ^ key;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<uint> Round(Vector256<uint> counter, Vector256<uint> key, Vector256<uint> multipliers)
    {
        Vector256<uint> products = Avx2.Multiply(counter, multipliers).AsUInt32();
        Vector256<uint> swapped = Avx2.Shuffle(products, 0b00_01_10_11);
        Vector256<uint> oddWords = Vector256.ShiftRightLogical(counter.AsUInt64(), 32).AsUInt32();
        return swapped ^ oddWords ^ key;
    }
}
