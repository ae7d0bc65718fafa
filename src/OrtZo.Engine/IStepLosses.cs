namespace OrtZo.Engine;

/// <summary>
/// The one interface between the step and whatever computes losses: a local batch, micro-batches spread over
/// workers, a replica replaying logged losses, a test's closed-form loss. <see cref="ZoStep"/> asks for the loss
/// at each probe point in a fixed order, with the weights standing at that point; an implementation may look at
/// the weights (a forward pass) or not (a replay) — the weight operations around each call are the same either way.
/// </summary>
internal interface IStepLosses
{
    /// <param name="step">The step being taken.</param>
    /// <param name="probe">Index of the probe point within the step (0, 1, … in the order the step visits them).</param>
    double Loss(long step, int probe);

    /// <summary>
    /// Called once a two-point step has visited all its probe points and before any loss is used, with the losses
    /// in visiting order (L+_0, L−_0, L+_1, …); a source that returned provisional values (a query-parallel replica
    /// that left other queries to other machines) overwrites them with the final ones.
    /// </summary>
    void Resolve(long step, Span<double> losses) { }
}
