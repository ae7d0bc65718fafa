namespace OrtZo.Distributed.Worker;

/// <summary>How one worker process (one device) takes part in a run.</summary>
public sealed class WorkerOptions
{
    /// <summary>The run to work for; null: the run started last in the cluster (waits for one).</summary>
    public string? RunId { get; init; }
    /// <summary>Unique among the run's workers; a restarted worker may reuse its name.</summary>
    public required string WorkerId { get; init; }
    /// <summary>cpu, or cuda[:n] with a GPU build.</summary>
    public string Device { get; init; } = "cpu";
    /// <summary>CPU threads for ORT and the weight kernels (null: all cores).</summary>
    public int? Threads { get; init; }
    /// <summary>Longest pause between polls while others hold a phase's tasks.</summary>
    public TimeSpan MaxPollInterval { get; init; } = TimeSpan.FromMilliseconds(20);
    /// <summary>Stop the host once the run is done (a CLI worker); otherwise the service just ends.</summary>
    public bool StopHostWhenDone { get; init; }
    /// <summary>With <see cref="StopHostWhenDone"/>: how long the silo stays up after the run is done.</summary>
    public TimeSpan LingerWhenDone { get; init; } = TimeSpan.FromSeconds(3);
    /// <summary>Also save the replica's final weights (as a model folder under the run's replicas/), to compare devices.</summary>
    public bool SaveReplica { get; init; }
    /// <summary>Seams for tests and benchmarks.</summary>
    internal WorkerHooks? Hooks { get; init; }
}
