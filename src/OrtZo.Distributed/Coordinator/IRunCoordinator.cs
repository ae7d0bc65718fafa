using OrtZo.Distributed.Protocol;

namespace OrtZo.Distributed.Coordinator;

/// <summary>
/// The coordinator of one run (grain key = run id). Every method is idempotent and safe to retry: workers
/// call it again after a timeout or a coordinator failover, and repeats or stale calls change nothing.
/// Whatever a call changes is journaled before the call returns.
/// </summary>
public interface IRunCoordinator : IGrainWithStringKey
{
    /// <summary>Starts the run, or confirms it when it already runs with the same spec.</summary>
    Task<StartReply> Start(RunSpec spec);

    Task<RunSpec?> GetSpec();

    /// <summary>Admits a worker whose spec hash matches and tells it where to start: the newest checkpoint and the log head.</summary>
    Task<JoinReply> Join(WorkerHello hello);

    /// <summary>Committed steps from <paramref name="fromStep"/>, at most <paramref name="maxSteps"/> of them.</summary>
    Task<LogPage> ReadLog(long fromStep, int maxSteps);

    /// <summary>What a worker at <paramref name="position"/> should do next.</summary>
    Task<Directive> Poll(WorkerPosition position);

    Task Report(LossReport report);

    Task<StepDoneReply> StepDone(StepDoneReport report);

    Task RecordCheckpoint(CheckpointMark mark);

    Task<RunStatus> Status();
}
