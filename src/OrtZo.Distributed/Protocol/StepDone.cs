namespace OrtZo.Distributed.Protocol;

/// <summary>A worker finished step <see cref="Steps"/> − 1; every D steps it adds the digest of its weights.</summary>
[GenerateSerializer, Immutable]
public sealed record StepDoneReport([property: Id(0)] string Worker, [property: Id(1)] long Steps, [property: Id(2)] string? Digest);

/// <param name="WriteCheckpoint">This worker is the one chosen to write the checkpoint after <see cref="StepDoneReport.Steps"/> steps.</param>
/// <param name="Reload">The digest disagrees with the run's: the replica is quarantined and must reload.</param>
[GenerateSerializer, Immutable]
public sealed record StepDoneReply([property: Id(0)] bool WriteCheckpoint, [property: Id(1)] bool Reload);
