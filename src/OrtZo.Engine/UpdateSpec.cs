namespace OrtZo.Engine;

/// <summary>
/// What the update part of a pass applies to each restored weight θ. All scalars are float32 so the CPU and
/// CUDA kernels compute the same thing; the optimizer derives them from its double-precision bookkeeping.
/// </summary>
internal sealed record UpdateSpec
{
    public required UpdateRule Rule { get; init; }

    /// <summary>ĝ_i = m_i · Σ_j c_j·z_i(seed_j), accumulated in float in list order.</summary>
    public required IReadOnlyList<Direction> Directions { get; init; }

    /// <summary>The step's random-mask seed (ignored unless a tensor uses <see cref="MaskKind.Random"/>).</summary>
    public ulong MaskSeed { get; init; }

    public float LearningRate { get; init; }

    /// <summary>Decoupled-from-nothing L2 term λ·θ added to ĝ on tensors that take decay (MeZO's rule).</summary>
    public float WeightDecay { get; init; }

    /// <summary>Momentum β (Momentum rule) or β1 (Adam).</summary>
    public float Beta1 { get; init; }

    public float Beta2 { get; init; }

    public float AdamEpsilon { get; init; }

    /// <summary>Adam: η / (1 − β1^t), computed in double and rounded once.</summary>
    public float AdamStepSize { get; init; }

    /// <summary>Adam: √(1 − β2^t), computed in double and rounded once.</summary>
    public float AdamBias2Sqrt { get; init; }

    /// <summary>Round the updated 16-bit weight stochastically, with bits from this seed's rounding stream.</summary>
    public bool StochasticRounding { get; init; }

    public ulong RoundingSeed { get; init; }
}
