namespace OrtZo.Distributed.Protocol;

/// <summary>
/// Where a worker's replica stands: inside step <see cref="Step"/> at probe point <see cref="Phase"/>.
/// <see cref="Resolving"/>: the replica has moved past the phase (query-parallel) and only waits for its loss,
/// so it can no longer evaluate that phase's micro-batches.
/// </summary>
[GenerateSerializer, Immutable]
public sealed record WorkerPosition([property: Id(0)] string Worker, [property: Id(1)] long Step, [property: Id(2)] int Phase, [property: Id(3)] bool Resolving = false);
