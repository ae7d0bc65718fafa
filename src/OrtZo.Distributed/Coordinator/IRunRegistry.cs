namespace OrtZo.Distributed.Coordinator;

/// <summary>
/// Which run a worker started without a run id should work for: the latest one started in the cluster.
/// One registry per cluster (key <see cref="RunRegistryGrain.Key"/>), journaled like a coordinator.
/// </summary>
public interface IRunRegistry : IGrainWithStringKey
{
    Task Announce(string runId);

    /// <summary>The run started last, or null while none has been.</summary>
    Task<string?> Latest();
}
