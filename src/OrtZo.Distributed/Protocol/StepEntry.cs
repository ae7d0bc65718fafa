namespace OrtZo.Distributed.Protocol;

/// <summary>
/// One committed step. <see cref="Losses"/> are the aggregated losses of the step's probe points in the order
/// the step visits them — all a replica needs to replay the step bit for bit, whatever the estimator.
/// Seeds and projected gradients are derived from them and kept for reading the log.
/// </summary>
[GenerateSerializer, Immutable]
public sealed record StepEntry(
    [property: Id(0)] long Step,
    [property: Id(1)] double[] Losses,
    [property: Id(2)] ulong[] Seeds,
    [property: Id(3)] double[] ProjectedGradients,
    [property: Id(4)] int[] DroppedQueries);

/// <summary>Committed steps [<see cref="From"/>, From + Entries.Length).</summary>
[GenerateSerializer, Immutable]
public sealed record LogPage([property: Id(0)] long From, [property: Id(1)] StepEntry[] Entries, [property: Id(2)] long Head);
