using OrtZo.Distributed.Journal;

namespace OrtZo.Distributed.Coordinator;

/// <summary>
/// The cluster's list of started runs, kept in the run journal under <see cref="JournalId"/> so that it
/// survives the silo it lives on. Run ids may not start with '_', so the name cannot clash with a run's.
/// </summary>
internal sealed class RunRegistryGrain(IRunJournal journal) : Grain, IRunRegistry
{
    public const string Key = "cluster";
    public const string JournalId = "_runs";

    private string? _latest;
    private int _version;

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        await Reload();
        await base.OnActivateAsync(cancellationToken);
    }

    public async Task Announce(string runId)
    {
        for (int attempt = 0; _latest != runId; attempt++)
        {
            if (await journal.AppendAsync(JournalId, [RunEvent.Announced(runId)], _version))
            {
                (_latest, _version) = (runId, _version + 1);
                return;
            }
            if (attempt >= 10) throw new InvalidOperationException("the run registry's journal keeps changing under it");
            await Reload();   // another activation wrote first (a failover in progress)
        }
    }

    public Task<string?> Latest() => Task.FromResult(_latest);

    private async Task Reload()
    {
        var events = await journal.ReadAsync(JournalId);
        _version = events.Count;
        _latest = events.LastOrDefault(e => e.Kind == RunEventKind.RunAnnounced)?.RunId;
    }
}
