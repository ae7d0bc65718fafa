namespace OrtZo.Distributed.Protocol;

/// <summary>How a step's work is spread over workers.</summary>
public enum DistributionMode
{
    /// <summary>
    /// Exact data parallelism: each probe point of a step is a phase whose micro-batches are tasks; a phase
    /// opens only once the previous one is fully reported. Every estimator; equals a single-process run.
    /// </summary>
    DataParallel,

    /// <summary>
    /// Query-parallel two-point estimates: the phases of all queries of a step are offered at once, so
    /// workers evaluate different queries side by side. Equals a single-process run unless a query's work is
    /// orphaned past every live worker, in which case that query is dropped (logged, g = 0 for it).
    /// </summary>
    QueryParallel,
}
