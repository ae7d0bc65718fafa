using OrtZo.Engine.Rng;

namespace OrtZo.Engine;

/// <summary>
/// The engine's view of the counter RNG (docs/rng.md): which stream each use draws from. Counters are slab
/// counter indices (<see cref="WeightStore.SlabLayout"/>), so any element's noise is computable on its own.
/// </summary>
internal static class ZoNoise
{
    /// <summary>z_c of a perturbation seed.</summary>
    public static float Normal(ulong seed, long counter) => Noise.Normal(seed, NoiseStream.Perturbation, counter);

    public static void FillNormals(ulong seed, long firstCounter, Span<float> destination) =>
        Noise.FillNormals(seed, NoiseStream.Perturbation, firstCounter, destination);

    /// <summary>Uniform in (0,1) deciding whether element c moves under a random (gradient-pruning) mask.</summary>
    public static float MaskUniform(ulong maskSeed, long counter) => Noise.Uniform(maskSeed, NoiseStream.RandomMask, counter);

    public static void FillMaskUniforms(ulong maskSeed, long firstCounter, Span<float> destination) =>
        Noise.FillUniforms(maskSeed, NoiseStream.RandomMask, firstCounter, destination);

    /// <summary>32 random bits for stochastic rounding of element c.</summary>
    public static uint RoundingBits(ulong seed, long counter) => Noise.UniformBits(seed, NoiseStream.StochasticRounding, counter);

    public static void FillRoundingBits(ulong seed, long firstCounter, Span<uint> destination) =>
        Noise.FillUniformBits(seed, NoiseStream.StochasticRounding, firstCounter, destination);

    /// <summary>Seed number <paramref name="query"/> of step <paramref name="step"/> of a run with this master seed.</summary>
    public static ulong StepSeed(ulong masterSeed, long step, int query) => Noise.DeriveSeed(masterSeed, step, query);
}
