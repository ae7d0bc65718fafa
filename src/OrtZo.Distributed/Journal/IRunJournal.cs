using OrtZo.Distributed.Coordinator;

namespace OrtZo.Distributed.Journal;

/// <summary>
/// Durable, append-only storage of a run's events: the coordinator's custom log-consistency storage.
/// <see cref="AppendAsync"/> succeeds only when the journal holds exactly <c>expectedVersion</c> events, which
/// fences off a stale second coordinator activation (its append finds a longer journal and fails).
/// </summary>
public interface IRunJournal
{
    Task<IReadOnlyList<RunEvent>> ReadAsync(string runId);

    Task<bool> AppendAsync(string runId, IReadOnlyList<RunEvent> events, int expectedVersion);
}
