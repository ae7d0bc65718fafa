namespace OrtZo.Engine;

/// <summary>How the gradient is estimated from forward passes.</summary>
internal enum Estimator
{
    /// <summary>g = (L(θ+εz) − L(θ−εz)) / 2ε, averaged over q queries (MeZO).</summary>
    TwoPoint,
    /// <summary>g = (L(θ+εz) − L(θ)) / ε, averaged over q queries, L(θ) evaluated once.</summary>
    OnePoint,
    /// <summary>ZO-SGD-Cons: a two-point estimate, then the best of θ, θ−ηĝ, θ+ηĝ on the same batch.</summary>
    Conservative,
}

/// <summary>Block-wise ZO (ZO-Bench): perturb one parameter block at a time.</summary>
internal enum BlockMode
{
    /// <summary>All trainable tensors at once.</summary>
    None,
    /// <summary>Blocks in order, each updated right after its estimate (later blocks see earlier updates).</summary>
    Coordinate,
    /// <summary>All blocks estimated at the same θ, then all updated.</summary>
    Jacobi,
}

/// <summary>Engine settings of a run; together with the data and the model they determine it bit for bit.</summary>
internal sealed record ZoSettings
{
    public ulong MasterSeed { get; init; }
    public float Epsilon { get; init; } = 1e-3f;
    public int Queries { get; init; } = 1;
    public Estimator Estimator { get; init; } = Estimator.TwoPoint;
    public BlockMode Blocks { get; init; } = BlockMode.None;
    public UpdateRule Rule { get; init; } = UpdateRule.Sgd;
    public float WeightDecay { get; init; }
    public float Beta1 { get; init; } = 0.9f;
    public float Beta2 { get; init; } = 0.999f;
    public float AdamEpsilon { get; init; } = 1e-8f;
    public bool StochasticRounding { get; init; }

    /// <summary>Random (gradient-pruning) masks are redrawn every this many steps (ZO-Bench's resample interval).</summary>
    public int MaskResampleSteps { get; init; } = 1;
}
