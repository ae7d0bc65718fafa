using System.Runtime.CompilerServices;

namespace OrtZo.Engine.Rng;

/// <summary>
/// Philox4x32-10 exactly as Random123 defines it (Salmon et al., SC'11), checked against the
/// library's known-answer vectors. Scalar reference: the vector kernels in
/// <see cref="PhiloxVector"/> must reproduce it word for word.
/// </summary>
internal static class Philox4x32
{
    internal const uint Multiplier0 = 0xD2511F53;
    internal const uint Multiplier1 = 0xCD9E8D57;
    internal const uint KeyIncrement0 = 0x9E3779B9;
    internal const uint KeyIncrement1 = 0xBB67AE85;
    internal const int Rounds = 10;

    /// <summary>Encrypts counter (c0..c3) under key (k0, k1); outputs land in x0..x3.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Generate(
        uint c0, uint c1, uint c2, uint c3, uint k0, uint k1,
        out uint x0, out uint x1, out uint x2, out uint x3)
    {
        for (int round = 0; round < Rounds; round++)
        {
            // Random123 bumps the key before every round except the first.
            if (round != 0)
            {
                k0 += KeyIncrement0;
                k1 += KeyIncrement1;
            }

            ulong p0 = (ulong)Multiplier0 * c0;
            ulong p1 = (ulong)Multiplier1 * c2;
            uint n0 = (uint)(p1 >> 32) ^ c1 ^ k0;
            uint n1 = (uint)p1;
            uint n2 = (uint)(p0 >> 32) ^ c3 ^ k1;
            uint n3 = (uint)p0;
            c0 = n0;
            c1 = n1;
            c2 = n2;
            c3 = n3;
        }

        x0 = c0;
        x1 = c1;
        x2 = c2;
        x3 = c3;
    }
}
