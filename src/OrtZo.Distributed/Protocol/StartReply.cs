namespace OrtZo.Distributed.Protocol;

/// <summary>Answer to starting a run: refused when the run id already holds a run with another spec.</summary>
[GenerateSerializer, Immutable]
public sealed record StartReply([property: Id(0)] bool Accepted, [property: Id(1)] string? Reason);
