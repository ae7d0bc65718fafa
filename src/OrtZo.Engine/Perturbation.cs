namespace OrtZo.Engine;

/// <summary>
/// An offset the engine puts on (or takes off) the weights: p_i = m_i · fl32(Scale · z_i(Seed)), where z is
/// regenerated from the counter RNG and m is the tensor's mask for the step the offset belongs to
/// (<see cref="MaskSeed"/> draws the random masks of gradient pruning; magnitude masks are stored bits).
/// A ZO probe at +ε is <c>Scale = +ε</c>, the flipped probe <c>Scale = −ε</c>, a candidate move of
/// ZO-SGD-Cons <c>Scale = ∓η·g</c>. Because fl32(−s·z) = −fl32(s·z) exactly, a flip negates the same offset.
/// </summary>
internal readonly record struct Perturbation(ulong Seed, float Scale, ulong MaskSeed)
{
    public Perturbation Negated => this with { Scale = -Scale };
}
