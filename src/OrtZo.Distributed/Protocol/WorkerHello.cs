namespace OrtZo.Distributed.Protocol;

/// <summary>A worker asking to take part, with the spec hash it computed from what it loaded.</summary>
[GenerateSerializer, Immutable]
public sealed record WorkerHello([property: Id(0)] string Worker, [property: Id(1)] string Device, [property: Id(2)] string SpecHash);

/// <summary>The coordinator's answer to <see cref="WorkerHello"/>.</summary>
/// <param name="Checkpoint">Newest checkpoint to start from (null: start from the model's weights at step 0).</param>
/// <param name="Head">Steps committed so far; the worker replays up to here without forwards.</param>
[GenerateSerializer, Immutable]
public sealed record JoinReply(
    [property: Id(0)] bool Accepted,
    [property: Id(1)] string? Reason,
    [property: Id(2)] CheckpointMark? Checkpoint,
    [property: Id(3)] long Head);
