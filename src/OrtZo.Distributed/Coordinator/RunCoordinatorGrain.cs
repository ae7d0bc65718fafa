using OrtZo.Distributed.Hosting;
using OrtZo.Distributed.Journal;
using OrtZo.Distributed.Protocol;
using Orleans.EventSourcing;
using Orleans.EventSourcing.CustomStorage;
using Orleans.Providers;

namespace OrtZo.Distributed.Coordinator;

/// <summary>
/// A run's coordinator: a journaled grain whose events live in an <see cref="IRunJournal"/>. Orleans keeps one
/// activation in the cluster and reactivates it on a live silo when its silo dies; the journal gives it back
/// the committed log and the losses of the open phase. Leases and worker positions are soft state: after a
/// failover leases start empty, and a task done twice is harmless because the first report wins.
/// </summary>
[LogConsistencyProvider(ProviderName = SiloSetup.LogConsistencyProviderName)]
internal sealed class RunCoordinatorGrain(IRunJournal journal, CoordinatorActivations? activations = null)
    : JournaledGrain<CoordinatorState, RunEvent>, IRunCoordinator, ICustomStorageInterface<CoordinatorState, RunEvent>
{
    private readonly Dictionary<(int Phase, int MicroBatch), (string Worker, long Until)> _leases = new();
    private readonly Dictionary<(int Phase, int MicroBatch), long> _orphanedSince = new();
    private readonly Dictionary<long, (string Worker, long Until)> _checkpointWriters = new();
    private readonly Dictionary<long, Dictionary<string, string>> _digestVotes = new();
    private readonly Dictionary<string, WorkerTracker> _workers = new();
    private readonly HashSet<string> _quarantined = new();
    private readonly RateTracker _rate = new();

    private string RunId => this.GetPrimaryKeyString();

    private static long Now => Environment.TickCount64;

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        activations?.Increment();
        return base.OnActivateAsync(cancellationToken);
    }

    // ---- custom storage: the journal ----

    public async Task<KeyValuePair<int, CoordinatorState>> ReadStateFromStorage()
    {
        var events = await journal.ReadAsync(RunId);
        var state = new CoordinatorState();
        foreach (var e in events) state.Apply(e);
        return new KeyValuePair<int, CoordinatorState>(events.Count, state);
    }

    public Task<bool> ApplyUpdatesToStorage(IReadOnlyList<RunEvent> updates, int expectedVersion) =>
        journal.AppendAsync(RunId, updates, expectedVersion);

    protected override void TransitionState(CoordinatorState state, RunEvent @event) => state.Apply(@event);

    private async Task Journal(RunEvent e)
    {
        RaiseEvent(e with { UnixMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() });
        await ConfirmEvents();
    }

    // ---- the protocol ----

    public async Task<StartReply> Start(RunSpec spec)
    {
        if (State.Spec is { } existing && existing.SpecHash != spec.SpecHash)
            return new StartReply(false, $"run '{RunId}' already exists with spec hash {existing.SpecHash}, not {spec.SpecHash}");
        if (spec.RunId != RunId) return new StartReply(false, $"spec is for run '{spec.RunId}', not '{RunId}'");
        bool existed = State.Spec is not null;
        if (!existed) await Journal(RunEvent.Started(spec));
        await GrainFactory.GetGrain<IRunRegistry>(RunRegistryGrain.Key).Announce(RunId);
        return new StartReply(true, existed ? "the run already exists with this spec" : null);
    }

    public Task<RunSpec?> GetSpec() => Task.FromResult(State.Spec);

    public Task<JoinReply> Join(WorkerHello hello)
    {
        if (State.Spec is not { } spec) return Task.FromResult(new JoinReply(false, "no run has been started under this id", null, 0));
        if (hello.SpecHash != spec.SpecHash)
            return Task.FromResult(new JoinReply(false,
                $"spec hash {hello.SpecHash} differs from the run's {spec.SpecHash}: another model, data or settings", null, 0));
        _quarantined.Remove(hello.Worker);
        Tracker(hello.Worker).Device = hello.Device;
        return Task.FromResult(new JoinReply(true, null, State.NewestCheckpoint, State.Head));
    }

    public Task<LogPage> ReadLog(long fromStep, int maxSteps)
    {
        long from = Math.Clamp(fromStep, 0, State.Head);
        int count = (int)Math.Min(Math.Max(0, maxSteps), State.Head - from);
        return Task.FromResult(new LogPage(from, State.Log.GetRange((int)from, count).ToArray(), State.Head));
    }

    public async Task<Directive> Poll(WorkerPosition at)
    {
        Touch(at.Worker, at.Step, at.Phase);
        if (State.Spec is not { } spec) return Directive.Of(DirectiveKind.Wait);
        if (_quarantined.Contains(at.Worker)) return Directive.Of(DirectiveKind.Reload);
        long head = State.Head;
        if (at.Step < head) return Directive.Of(DirectiveKind.Committed);
        if (at.Step == head + 1 && at.Phase == 0 && !at.Resolving)
        {
            // a replica only leaves a step once it has every loss of it: the step is over
            if (!State.StepComplete(spec.Mode)) return Directive.Of(DirectiveKind.Reload);
            await Journal(RunEvent.Committed(head));
            _rate.Add(State.Head);
            _leases.Clear();
            _orphanedSince.Clear();
            head = State.Head;
        }
        if (at.Step != head) return Directive.Of(DirectiveKind.Reload);
        if (head >= State.Options.TotalSteps)
            // done once the final checkpoint (and model) is written; until then a finished replica may be asked to write it
            return Directive.Of(State.Checkpoints.Exists(c => c.Step == head) ? DirectiveKind.Done : DirectiveKind.Wait);
        if (at.Phase < 0) return Directive.Of(DirectiveKind.Reload);
        if (State.IsClosed(at.Phase) || State.IsDropped(at.Phase))
            return new Directive(DirectiveKind.PhaseClosed, Loss: State.PhaseLossOrDropped(at.Phase));
        if (spec.Mode == DistributionMode.DataParallel)
        {
            // phases open one after the other: a replica can only be at the first open one
            if (at.Phase > State.Phases.Count) return Directive.Of(DirectiveKind.Reload);
            for (int p = 0; p < at.Phase; p++)
                if (!State.IsClosed(p)) return Directive.Of(DirectiveKind.Reload);
        }
        else if (at.Phase >= State.QueryParallelPhases)
        {
            return Directive.Of(DirectiveKind.Reload);
        }
        if (at.Resolving) return await DropIfOrphaned(spec, at.Phase);
        if (TakeTask(spec, at.Worker, at.Phase) is int task) return new Directive(DirectiveKind.Evaluate, task);
        return Directive.Of(spec.Mode == DistributionMode.QueryParallel ? DirectiveKind.Pass : DirectiveKind.Wait);
    }

    public async Task Report(LossReport r)
    {
        Touch(r.Worker, r.Step, r.Phase);
        if (State.Spec is not { } spec || r.Step != State.Head || r.Phase < 0 || r.MicroBatch < 0 || r.MicroBatch >= State.MicroBatchCount)
            return;   // stale or malformed: ignored
        if (_quarantined.Contains(r.Worker)) return;   // its weights are known to be wrong
        if (spec.Mode == DistributionMode.QueryParallel ? r.Phase >= State.QueryParallelPhases : r.Phase > State.Phases.Count)
            return;
        if (State.IsClosed(r.Phase) || State.IsDropped(r.Phase)) return;
        if (r.Phase < State.Phases.Count && State.Phases[r.Phase][r.MicroBatch].HasValue) return;   // first report wins
        await Journal(RunEvent.Reported(r));
        _leases.Remove((r.Phase, r.MicroBatch));
        Tracker(r.Worker).Tasks++;
    }

    public async Task<StepDoneReply> StepDone(StepDoneReport r)
    {
        var tracker = Tracker(r.Worker);
        tracker.See(r.Steps, 0);
        if (State.Spec is not { } spec) return new StepDoneReply(false, false);
        if (r.Digest is { } digest && await DigestDisagrees(r.Worker, r.Steps, digest)) return new StepDoneReply(false, true);
        if (_quarantined.Contains(r.Worker)) return new StepDoneReply(false, true);
        long total = State.Options.TotalSteps;
        bool due = r.Steps == total || (spec.CheckpointEvery > 0 && r.Steps % spec.CheckpointEvery == 0);
        if (!due || State.Checkpoints.Exists(c => c.Step == r.Steps)) return new StepDoneReply(false, false);
        // one writer per checkpoint; if it dies before recording the mark, the job passes to the next asker
        if (_checkpointWriters.TryGetValue(r.Steps, out var writer) && writer.Worker != r.Worker && writer.Until > Now)
            return new StepDoneReply(false, false);
        _checkpointWriters[r.Steps] = (r.Worker, Now + Math.Max(30_000, 20L * spec.LeaseMilliseconds));
        return new StepDoneReply(true, false);
    }

    public async Task RecordCheckpoint(CheckpointMark mark)
    {
        if (State.Checkpoints.Exists(c => c.Step == mark.Step)) return;
        await Journal(RunEvent.CheckpointWritten(mark));
        _checkpointWriters.Remove(mark.Step);
    }

    public Task<RunStatus> Status()
    {
        var spec = State.Spec;
        var workers = _workers.Select(w => w.Value.Status(w.Key, _quarantined.Contains(w.Key))).OrderBy(w => w.Worker, StringComparer.Ordinal).ToArray();
        double lastLoss = State.Log.Count > 0 && State.Log[^1].Losses.Length > 0 ? State.Log[^1].Losses[0] : double.NaN;
        int closed = Enumerable.Range(0, State.Phases.Count).Count(State.IsClosed);
        return Task.FromResult(new RunStatus(spec is not null, State.Head, spec is null ? 0 : State.Options.TotalSteps, closed, lastLoss,
            _rate.StepsPerSecond, workers, State.NewestCheckpoint, RuntimeIdentity, State.Events));
    }

    // ---- helpers ----

    private int? TakeTask(RunSpec spec, string worker, int phase)
    {
        var slots = State.Phases.Count > phase ? State.Phases[phase] : null;
        long now = Now;
        int? free = null;
        for (int k = 0; k < State.MicroBatchCount; k++)
        {
            if (slots is not null && slots[k].HasValue) continue;
            if (_leases.TryGetValue((phase, k), out var lease))
            {
                if (lease.Worker == worker) { free = k; break; }   // its own task again (a lost reply)
                if (lease.Until > now) continue;
            }
            free ??= k;
        }
        if (free is int task) _leases[(phase, task)] = (worker, now + spec.LeaseMilliseconds);
        return free;
    }

    // Query-parallel: a replica waiting for a phase it has passed cannot take its tasks. If a task's holder has
    // vanished, a rejoining worker (which starts the step from its first probe point) may still take it; after
    // two leases without one, the query is dropped — logged, so every replica applies the same g = 0.
    private async Task<Directive> DropIfOrphaned(RunSpec spec, int phase)
    {
        long now = Now;
        var slots = State.Phases.Count > phase ? State.Phases[phase] : new double?[State.MicroBatchCount];
        bool orphaned = false;
        for (int k = 0; k < slots.Length; k++)
        {
            if (slots[k].HasValue) continue;
            if (_leases.TryGetValue((phase, k), out var lease) && lease.Until > now)
            {
                _orphanedSince.Remove((phase, k));
                continue;
            }
            long since = _orphanedSince.TryGetValue((phase, k), out var s) ? s : _orphanedSince[(phase, k)] = now;
            orphaned |= now - since > 2L * spec.LeaseMilliseconds;
        }
        if (!orphaned) return Directive.Of(DirectiveKind.Wait);
        await Journal(RunEvent.Dropped(State.Head, phase / 2));
        return new Directive(DirectiveKind.PhaseClosed, Loss: State.PhaseLossOrDropped(phase));
    }

    // The first digest two workers agree on (or the only live worker's) becomes the step's reference; a replica
    // whose digest differs from the reference is quarantined and reloads from the newest checkpoint.
    private async Task<bool> DigestDisagrees(string worker, long steps, string digest)
    {
        if (!State.Digests.ContainsKey(steps))
        {
            if (!_digestVotes.TryGetValue(steps, out var votes)) _digestVotes[steps] = votes = new();
            votes[worker] = digest;
            var agreed = votes.Values.GroupBy(v => v).FirstOrDefault(g => g.Count() >= 2)?.Key;
            if (agreed is null && LiveWorkers() <= 1) agreed = digest;
            if (agreed is null) return false;
            await Journal(RunEvent.DigestAgreed(steps, agreed));
            foreach (var (w, d) in votes)
                if (d != agreed) _quarantined.Add(w);
            _digestVotes.Remove(steps);
        }
        if (State.Digests[steps] == digest) return false;
        _quarantined.Add(worker);
        return true;
    }

    private int LiveWorkers()
    {
        long horizon = 3L * (State.Spec?.LeaseMilliseconds ?? 2000);
        return _workers.Values.Count(w => Now - w.LastSeen < horizon && !_quarantined.Contains(w.Name));
    }

    private void Touch(string worker, long step, int phase) => Tracker(worker).See(step, phase);

    private WorkerTracker Tracker(string worker)
    {
        if (!_workers.TryGetValue(worker, out var t)) _workers[worker] = t = new WorkerTracker(worker);
        return t;
    }
}
