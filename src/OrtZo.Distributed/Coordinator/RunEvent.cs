using OrtZo.Distributed.Protocol;

namespace OrtZo.Distributed.Coordinator;

public enum RunEventKind
{
    Started,
    LossReported,
    StepCommitted,
    QueryDropped,
    CheckpointRecorded,
    DigestRecorded,
    /// <summary>In the run registry's journal: a run was started (workers without a run id pick the latest).</summary>
    RunAnnounced,
}

/// <summary>
/// One entry of a run's journal. The coordinator's state is the fold of these events, so a coordinator
/// reactivated on another machine rebuilds exactly what the previous one had acknowledged — including the
/// losses reported in the middle of a phase. Applying an event twice, or one that arrives late, changes nothing.
/// </summary>
[GenerateSerializer, Immutable]
public sealed record RunEvent
{
    [Id(0)] public RunEventKind Kind { get; init; }
    [Id(1)] public RunSpec? Spec { get; init; }
    [Id(2)] public long Step { get; init; }
    [Id(3)] public int Phase { get; init; }
    [Id(4)] public int MicroBatch { get; init; }
    [Id(5)] public double Loss { get; init; }
    [Id(6)] public string? Worker { get; init; }
    [Id(7)] public CheckpointMark? Checkpoint { get; init; }
    [Id(8)] public string? Digest { get; init; }
    [Id(9)] public int Query { get; init; }
    /// <summary>When the coordinator journaled the event (Unix ms): for reading the log and timing recoveries, never for replay.</summary>
    [Id(10)] public long UnixMs { get; init; }
    [Id(11)] public string? RunId { get; init; }

    public static RunEvent Started(RunSpec spec) => new() { Kind = RunEventKind.Started, Spec = spec };

    public static RunEvent Reported(LossReport r) => new()
    {
        Kind = RunEventKind.LossReported, Step = r.Step, Phase = r.Phase, MicroBatch = r.MicroBatch, Loss = r.Loss, Worker = r.Worker,
    };

    public static RunEvent Committed(long step) => new() { Kind = RunEventKind.StepCommitted, Step = step };

    public static RunEvent Dropped(long step, int query) => new() { Kind = RunEventKind.QueryDropped, Step = step, Query = query };

    public static RunEvent CheckpointWritten(CheckpointMark mark) => new() { Kind = RunEventKind.CheckpointRecorded, Step = mark.Step, Checkpoint = mark };

    public static RunEvent Announced(string runId) => new() { Kind = RunEventKind.RunAnnounced, RunId = runId, UnixMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() };

    public static RunEvent DigestAgreed(long steps, string digest) => new() { Kind = RunEventKind.DigestRecorded, Step = steps, Digest = digest };
}
