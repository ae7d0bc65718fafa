namespace OrtZo.Engine;

/// <summary>
/// One element-wise program over a set of slab tensors. For every element, in this order:
/// remove the offset that is on it, update the restored θ, put a new offset on. Any part may be absent.
/// A pass is a list of segments over disjoint tensor sets; it reads and writes each weight once.
/// </summary>
internal sealed record PassSegment
{
    /// <summary>Slab slots this segment covers (trainable ones only).</summary>
    public required IReadOnlyList<int> Slots { get; init; }

    /// <summary>The offset currently on the weights, taken off first.</summary>
    public Perturbation? Remove { get; init; }

    public UpdateSpec? Update { get; init; }

    /// <summary>The offset to put on after the update.</summary>
    public Perturbation? Apply { get; init; }

    /// <summary>
    /// For magnitude-masked tensors: judge the mask afresh from θ when applying (the first offset of a step)
    /// and store it, rather than reuse the stored bits (later offsets of the same step).
    /// </summary>
    public bool RecomputeMask { get; init; }
}
