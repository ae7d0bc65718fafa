namespace OrtZo.Distributed.Hosting;

/// <summary>
/// How fast a dead silo is noticed and a call given up. Orleans' defaults (about 15 s to declare a silo dead,
/// 30 s response timeout) suit large production clusters; a run of a few workers wants a dead worker's
/// tasks and a dead coordinator back within seconds. One vote suffices, since such clusters are small.
/// </summary>
public sealed record FailureDetection(TimeSpan ProbeTimeout, int MissedProbes, TimeSpan ResponseTimeout)
{
    public static FailureDetection Default { get; } = new(TimeSpan.FromSeconds(1), 3, TimeSpan.FromSeconds(5));

    /// <summary>For in-process test clusters on a busy two-core machine.</summary>
    public static FailureDetection Fast { get; } = new(TimeSpan.FromMilliseconds(500), 2, TimeSpan.FromSeconds(2));
}
