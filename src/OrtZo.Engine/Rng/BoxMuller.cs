using System.Runtime.CompilerServices;

namespace OrtZo.Engine.Rng;

/// <summary>
/// Box–Muller on one pair of Philox words: the first drives the radius, the second the angle.
/// The polar (rejection) form is avoided because a data-dependent loop would make the SIMD and GPU
/// kernels diverge and would tie each output to a variable number of words.
/// </summary>
internal static class BoxMuller
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Transform(uint radiusBits, uint angleBits, out float cosine, out float sine)
    {
        float radius = MathF.Sqrt(DetMath.Log(NoiseLayout.ToUniform(radiusBits)) * -2f);
        DetMath.SinCos2Pi(NoiseLayout.ToUniform(angleBits), out float sin, out float cos);
        cosine = radius * cos;
        sine = radius * sin;
    }
}
