namespace OrtZo.Distributed.Worker;

/// <summary>What a finished replica reports: its step count and the digest of its weights and optimizer state.</summary>
public sealed record ReplicaResult(string Worker, long Steps, string Digest, long MicroBatchesEvaluated, long StepsReplayed, int Joins);

/// <summary>Seams through which tests watch workers and disturb them at exact points.</summary>
internal sealed class WorkerHooks
{
    /// <summary>Called after each step with the worker, the steps done and the model (whose slab a test may corrupt).</summary>
    public Action<string, long, ZoModel>? AfterStep { get; init; }

    /// <summary>Called when a replica has all the run's steps.</summary>
    public Action<ReplicaResult>? Finished { get; init; }

    /// <summary>Called each time a worker (re)joins, with the step it resumes from.</summary>
    public Action<string, long>? Joined { get; init; }

    /// <summary>Extra time per micro-batch forward, so a test can act while a phase is open.</summary>
    public int EvaluateDelayMs { get; init; }
}
