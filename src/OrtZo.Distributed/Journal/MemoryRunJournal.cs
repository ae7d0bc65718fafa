using OrtZo.Distributed.Coordinator;

namespace OrtZo.Distributed.Journal;

/// <summary>
/// A journal in this process's memory. Shared by every silo of an in-process test cluster, it outlives a
/// killed silo the way a file or database outlives a killed machine.
/// </summary>
public sealed class MemoryRunJournal : IRunJournal
{
    private readonly Dictionary<string, List<RunEvent>> _runs = new();
    private readonly Lock _lock = new();

    public Task<IReadOnlyList<RunEvent>> ReadAsync(string runId)
    {
        lock (_lock) return Task.FromResult<IReadOnlyList<RunEvent>>(Events(runId).ToArray());
    }

    public Task<bool> AppendAsync(string runId, IReadOnlyList<RunEvent> events, int expectedVersion)
    {
        lock (_lock)
        {
            var log = Events(runId);
            if (log.Count != expectedVersion) return Task.FromResult(false);
            log.AddRange(events);
            return Task.FromResult(true);
        }
    }

    public IReadOnlyList<RunEvent> Snapshot(string runId)
    {
        lock (_lock) return Events(runId).ToArray();
    }

    private List<RunEvent> Events(string runId)
    {
        if (!_runs.TryGetValue(runId, out var log)) _runs[runId] = log = new List<RunEvent>();
        return log;
    }
}
