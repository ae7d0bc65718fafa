namespace OrtZo.Engine.Rng;

/// <summary>
/// OrtZo's counter-based noise: every element is a pure function of (seed, stream, index), so noise
/// is regenerated instead of stored, chunks can be produced in any order on any thread or device,
/// and a run's per-step seeds are computable directly from its master seed. The single-element
/// methods are the readable reference; the Fill methods are the fast paths and must match them bit
/// for bit. The full contract (for the CUDA port) is docs/rng.md.
/// </summary>
internal static class Noise
{
    /// <summary>The standard normal at <paramref name="index"/>; slow on purpose — it is the spec.</summary>
    internal static float Normal(ulong seed, NoiseStream stream, long index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        NoiseLayout.Block(seed, stream, (ulong)index / 4, out uint x0, out uint x1, out uint x2, out uint x3);
        int lane = (int)(index % 4);
        uint radiusBits = lane < 2 ? x0 : x2;
        uint angleBits = lane < 2 ? x1 : x3;
        float radius = MathF.Sqrt(DetMath.Log(NoiseLayout.ToUniform(radiusBits)) * -2f);
        DetMath.SinCos2Pi(NoiseLayout.ToUniform(angleBits), out float sin, out float cos);
        return (lane & 1) == 0 ? radius * cos : radius * sin;
    }

    /// <summary>The raw Philox word at <paramref name="index"/>: word index % 4 of block index / 4.</summary>
    internal static uint UniformBits(ulong seed, NoiseStream stream, long index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        NoiseLayout.Block(seed, stream, (ulong)index / 4, out uint x0, out uint x1, out uint x2, out uint x3);
        return (index % 4) switch { 0 => x0, 1 => x1, 2 => x2, _ => x3 };
    }

    /// <summary>The uniform in (0,1) at <paramref name="index"/>, built from <see cref="UniformBits"/>.</summary>
    internal static float Uniform(ulong seed, NoiseStream stream, long index) =>
        NoiseLayout.ToUniform(UniformBits(seed, stream, index));

    /// <summary>Normals for indices firstIndex, firstIndex+1, …; identical to calling <see cref="Normal"/> per element.</summary>
    internal static void FillNormals(ulong seed, NoiseStream stream, long firstIndex, Span<float> destination) =>
        BlockFiller.Fill<NormalTransform, float>(seed, stream, firstIndex, destination, NoiseKernels.Best);

    internal static void FillNormals(ulong seed, NoiseStream stream, long firstIndex, Span<float> destination, NoiseKernel kernel) =>
        BlockFiller.Fill<NormalTransform, float>(seed, stream, firstIndex, destination, kernel);

    /// <summary>Raw Philox words for indices firstIndex, firstIndex+1, ….</summary>
    internal static void FillUniformBits(ulong seed, NoiseStream stream, long firstIndex, Span<uint> destination) =>
        BlockFiller.Fill<UniformBitsTransform, uint>(seed, stream, firstIndex, destination, NoiseKernels.Best);

    internal static void FillUniformBits(ulong seed, NoiseStream stream, long firstIndex, Span<uint> destination, NoiseKernel kernel) =>
        BlockFiller.Fill<UniformBitsTransform, uint>(seed, stream, firstIndex, destination, kernel);

    /// <summary>Uniforms in (0,1) for indices firstIndex, firstIndex+1, ….</summary>
    internal static void FillUniforms(ulong seed, NoiseStream stream, long firstIndex, Span<float> destination) =>
        BlockFiller.Fill<UniformTransform, float>(seed, stream, firstIndex, destination, NoiseKernels.Best);

    internal static void FillUniforms(ulong seed, NoiseStream stream, long firstIndex, Span<float> destination, NoiseKernel kernel) =>
        BlockFiller.Fill<UniformTransform, float>(seed, stream, firstIndex, destination, kernel);

    /// <summary>
    /// The seed for one (step, query) of a run, straight from the master seed — no sequential state,
    /// so resuming at step N or replaying another worker's step needs nothing but the master seed.
    /// The counter's c3 = <see cref="NoiseStream.SeedDerivation"/> keeps these blocks apart from
    /// element blocks, which always have c3 = 0.
    /// </summary>
    internal static ulong DeriveSeed(ulong masterSeed, long step, int query)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(step);
        ArgumentOutOfRangeException.ThrowIfNegative(query);
        Philox4x32.Generate(
            (uint)step, (uint)((ulong)step >> 32), (uint)query, (uint)NoiseStream.SeedDerivation,
            (uint)masterSeed, (uint)(masterSeed >> 32),
            out uint x0, out uint x1, out _, out _);
        return x0 | ((ulong)x1 << 32);
    }
}
