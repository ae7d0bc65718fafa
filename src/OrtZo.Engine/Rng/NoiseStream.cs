namespace OrtZo.Engine.Rng;

/// <summary>
/// Independent noise streams under one seed. The value is Philox counter word c2, so the streams
/// can never overlap however many elements each one draws. Values are part of the on-disk/GPU
/// contract (docs/rng.md): never renumber.
/// </summary>
internal enum NoiseStream : uint
{
    /// <summary>Gaussian z for the MeZO weight perturbation.</summary>
    Perturbation = 0,

    /// <summary>Raw 32-bit words for stochastic rounding.</summary>
    StochasticRounding = 1,

    /// <summary>Uniforms in (0,1) for random masks.</summary>
    RandomMask = 2,

    /// <summary>Per-step seed derivation (<see cref="Noise.DeriveSeed"/> puts it in counter word c3).</summary>
    SeedDerivation = 3,
}
