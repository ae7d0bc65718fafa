namespace OrtZo.Distributed.Protocol;

/// <summary>A checkpoint folder of the run after <see cref="Step"/> steps, with the SHA-256 of its weight and optimizer files.</summary>
[GenerateSerializer, Immutable]
public sealed record CheckpointMark([property: Id(0)] long Step, [property: Id(1)] string Folder, [property: Id(2)] string Sha256);
