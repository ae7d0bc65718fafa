using OrtZo.Distributed.Coordinator;
using OrtZo.Distributed.Protocol;
using OrtZo.Engine;
using OrtZo.Training;

namespace OrtZo.Distributed.Worker;

/// <summary>
/// A replica's probe losses. For a committed step they come from the log (catch-up: no forward pass). For the
/// step in progress the worker scores the micro-batches the coordinator hands it, reports them, and waits
/// until the phase's loss is known — so every replica, busy or idle, feeds ZoStep the same numbers in the
/// same order and applies the same weight operations. One per joined replica: it scores through that replica's
/// trainer.
/// </summary>
internal sealed class ReplicaLossSource(RetriedCalls rpc, IRunCoordinator coordinator, string worker, WorkerHooks? hooks, TimeSpan maxPoll,
    MicroBatchScorer scorer) : IStepLosses
{
    private const int LogPageSteps = 1024;
    private readonly Dictionary<long, StepEntry> _log = new();
    private readonly List<int> _pending = new();

    public long MicroBatchesEvaluated { get; private set; }
    public long StepsReplayed { get; private set; }

    public double Loss(long step, int probe)
    {
        if (probe == 0) StartStep(step);
        if (_log.TryGetValue(step, out var entry)) return Logged(entry, probe);
        if (Follow(step, probe, scorer) is double loss) return loss;
        _pending.Add(probe);
        return double.NaN;   // provisional: ZoStep asks for the final value before using it
    }

    public void Resolve(long step, Span<double> losses)
    {
        if (_log.TryGetValue(step, out var entry))
        {
            if (entry.Losses.Length != losses.Length) throw new ReloadRequiredException($"step {step} has {entry.Losses.Length} logged losses, the replica visited {losses.Length} probe points");
            entry.Losses.CopyTo(losses);
            return;
        }
        foreach (int probe in _pending) losses[probe] = Follow(step, probe, scoring: null)!.Value;
        _pending.Clear();
    }

    // Follows the coordinator's directives for one probe point until its loss is known. With a scorer the
    // replica stands at that point and can evaluate its micro-batches; without one it has moved past it
    // (query-parallel) and only waits. Null: the coordinator said to move on and resolve the loss later.
    private double? Follow(long step, int probe, MicroBatchScorer? scoring)
    {
        int wait = 1;
        while (true)
        {
            var d = rpc.Call(() => coordinator.Poll(new WorkerPosition(worker, step, probe, Resolving: scoring is null)));
            switch (d.Kind)
            {
                case DirectiveKind.Evaluate when scoring is not null:
                    if (hooks?.EvaluateDelayMs is > 0 and var delay) rpc.Sleep(delay);
                    double loss = scoring.Loss(d.MicroBatch);
                    MicroBatchesEvaluated++;
                    rpc.Call(() => coordinator.Report(new LossReport(worker, step, probe, d.MicroBatch, loss)));
                    wait = 1;
                    break;
                case DirectiveKind.PhaseClosed:
                    return d.Loss;
                case DirectiveKind.Committed:
                    Fetch(step);
                    return Logged(_log[step], probe);
                case DirectiveKind.Pass when scoring is not null:
                    return null;
                case DirectiveKind.Wait:
                    rpc.Sleep(wait);
                    wait = Math.Min(wait * 2, (int)maxPoll.TotalMilliseconds);
                    break;
                default:
                    throw new ReloadRequiredException($"coordinator answered {d.Kind} at step {step}, probe point {probe}");
            }
        }
    }

    private void StartStep(long step)
    {
        _pending.Clear();
        foreach (long old in _log.Keys.Where(k => k < step).ToList()) _log.Remove(old);
        if (_log.ContainsKey(step)) StepsReplayed++;
    }

    private double Logged(StepEntry entry, int probe)
    {
        if (probe >= entry.Losses.Length) throw new ReloadRequiredException($"step {entry.Step} logged {entry.Losses.Length} probe points; the replica asks for point {probe}");
        return entry.Losses[probe];
    }

    private void Fetch(long step)
    {
        var page = rpc.Call(() => coordinator.ReadLog(step, LogPageSteps));
        foreach (var e in page.Entries) _log[e.Step] = e;
        if (!_log.ContainsKey(step)) throw new ReloadRequiredException($"step {step} is not in the log (head {page.Head})");
        if (page.From == step) StepsReplayed++;
    }
}
