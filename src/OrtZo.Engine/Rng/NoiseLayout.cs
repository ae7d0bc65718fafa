using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace OrtZo.Engine.Rng;

/// <summary>
/// How OrtZo addresses Philox: key = the 64-bit seed, one block per 4 consecutive element indices,
/// counter = (low32(n/4), high32(n/4), stream, 0), lane = n % 4. Because any element's block is a
/// pure function of (seed, stream, n), every chunk of a tensor — on any thread, CPU or GPU — can be
/// generated independently and z never has to be stored.
/// </summary>
internal static class NoiseLayout
{
    internal const int LanesPerBlock = 4;

    /// <summary>2^-23: the spacing of the uniform grid.</summary>
    internal const float UniformStep = 1f / 8388608f;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Block(
        ulong seed, NoiseStream stream, ulong block,
        out uint x0, out uint x1, out uint x2, out uint x3) =>
        Philox4x32.Generate(
            (uint)block, (uint)(block >> 32), (uint)stream, 0u,
            (uint)seed, (uint)(seed >> 32),
            out x0, out x1, out x2, out x3);

    /// <summary>
    /// Midpoint of one of 2^23 equal cells of (0,1): (⌊x/2^9⌋ + ½)·2^-23. Using 23 rather than 24
    /// bits is what makes every value exact in binary32 (the upper half of (0,1) only has float
    /// spacing 2^-24, so 24-bit midpoints would need rounding) and keeps u strictly inside (0,1):
    /// u ∈ [2^-24, 1 − 2^-24], so ln u is finite and never zero.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static float ToUniform(uint bits) => ((int)(bits >> 9) + 0.5f) * UniformStep;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector512<float> ToUniform(Vector512<uint> bits) =>
        (Vector512.ConvertToSingle(Vector512.ShiftRightLogical(bits, 9).AsInt32()) + Vector512.Create(0.5f))
        * Vector512.Create(UniformStep);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector256<float> ToUniform(Vector256<uint> bits) =>
        (Vector256.ConvertToSingle(Vector256.ShiftRightLogical(bits, 9).AsInt32()) + Vector256.Create(0.5f))
        * Vector256.Create(UniformStep);
}
