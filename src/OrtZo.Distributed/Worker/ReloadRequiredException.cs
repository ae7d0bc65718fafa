namespace OrtZo.Distributed.Worker;

/// <summary>The coordinator told the replica it is out of line: drop the weights, reload and rejoin.</summary>
internal sealed class ReloadRequiredException(string reason) : Exception(reason);

/// <summary>The coordinator refused the worker (no such run, or a different spec).</summary>
public sealed class WorkerRefusedException(string reason) : Exception(reason);
