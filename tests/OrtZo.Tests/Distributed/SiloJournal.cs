using OrtZo.Distributed.Coordinator;
using OrtZo.Distributed.Journal;

namespace OrtZo.Tests.Distributed;

/// <summary>
/// One silo's view of the shared test journal. After each append — the events durable, the coordinator not yet
/// answering — it hands the events and the appending silo's name (the coordinator's silo) to the test, which can
/// then kill or add silos at an exact point of the run.
/// </summary>
internal sealed class SiloJournal(MemoryRunJournal shared, string silo, Func<string, IReadOnlyList<RunEvent>, Task> appended) : IRunJournal
{
    public Task<IReadOnlyList<RunEvent>> ReadAsync(string runId) => shared.ReadAsync(runId);

    public async Task<bool> AppendAsync(string runId, IReadOnlyList<RunEvent> events, int expectedVersion)
    {
        if (!await shared.AppendAsync(runId, events, expectedVersion)) return false;
        await appended(silo, events);
        return true;
    }
}
