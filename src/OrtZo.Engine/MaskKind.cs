namespace OrtZo.Engine;

/// <summary>Which elements of a tensor a step perturbs and updates.</summary>
internal enum MaskKind : byte
{
    /// <summary>Not trainable: never perturbed, never updated.</summary>
    Frozen,
    /// <summary>Every element (MeZO).</summary>
    Dense,
    /// <summary>
    /// Sparse-MeZO: elements with |θ| ≤ the tensor's threshold, judged on the unperturbed θ when a step's
    /// first perturbation is applied and stored as one bit per element, so +ε, −ε, the restore and the update
    /// all use the same mask even for weights sitting at the threshold.
    /// </summary>
    Magnitude,
    /// <summary>
    /// ZO with gradient pruning: a random subset drawn from the step's mask seed with the tensor's keep
    /// ratio; recomputed from the seed in every pass, so it needs no storage.
    /// </summary>
    Random,
}
