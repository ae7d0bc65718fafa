using System.Text.Json;
using OrtZo.Distributed.Protocol;
using OrtZo.Training;

namespace OrtZo.Distributed.Coordinator;

/// <summary>
/// The durable part of a run's coordinator: the spec, the committed log, the losses reported so far in the
/// step in progress, checkpoint marks and agreed digests. Built only by <see cref="Apply"/>.
/// </summary>
[GenerateSerializer]
public sealed class CoordinatorState
{
    [Id(0)] public RunSpec? Spec { get; set; }
    [Id(1)] public List<StepEntry> Log { get; set; } = new();
    /// <summary>Per probe point of the step in progress: the micro-batch losses reported so far.</summary>
    [Id(2)] public List<double?[]> Phases { get; set; } = new();
    [Id(3)] public HashSet<int> DroppedQueries { get; set; } = new();
    [Id(4)] public List<CheckpointMark> Checkpoints { get; set; } = new();
    [Id(5)] public Dictionary<long, string> Digests { get; set; } = new();
    [Id(6)] public long Events { get; set; }

    [NonSerialized] private ZoOptions? _options;

    internal ZoOptions Options => _options ??= JsonSerializer.Deserialize<ZoOptions>(Spec!.OptionsJson, RunState.Json)!;

    /// <summary>The step in progress (= steps committed).</summary>
    public long Head => Log.Count;

    internal int MicroBatchCount => Options.MicroBatches;

    /// <summary>Probe points of a query-parallel step (two per query); data-parallel steps find out as they go.</summary>
    internal int QueryParallelPhases => 2 * Options.Queries;

    internal bool IsDropped(int phase) => DroppedQueries.Contains(phase / 2);

    internal bool IsClosed(int phase) =>
        phase < Phases.Count && (IsDropped(phase) || Array.TrueForAll(Phases[phase], v => v.HasValue));

    /// <summary>A closed phase's loss: the micro-batch mean.</summary>
    internal double PhaseLoss(int phase)
    {
        var slots = Phases[phase];
        var losses = new double[slots.Length];
        for (int k = 0; k < slots.Length; k++) losses[k] = slots[k]!.Value;
        return MicroBatches.Mean(losses);
    }

    /// <summary>Every probe point of the step in progress has its loss (a data-parallel step has at least one).</summary>
    internal bool StepComplete(DistributionMode mode)
    {
        int needed = mode == DistributionMode.QueryParallel ? QueryParallelPhases : Phases.Count;
        if (needed == 0) return false;
        for (int p = 0; p < needed; p++)
            if (!IsDropped(p) && !IsClosed(p)) return false;
        return true;
    }

    internal double?[] PhaseSlots(int phase)
    {
        while (Phases.Count <= phase) Phases.Add(new double?[MicroBatchCount]);
        return Phases[phase];
    }

    public void Apply(RunEvent e)
    {
        Events++;
        switch (e.Kind)
        {
            case RunEventKind.Started:
                Spec ??= e.Spec;
                break;
            case RunEventKind.LossReported:
                if (Spec is null || e.Step != Head || e.MicroBatch < 0 || e.MicroBatch >= MicroBatchCount) break;
                var slots = PhaseSlots(e.Phase);
                slots[e.MicroBatch] ??= e.Loss;
                break;
            case RunEventKind.QueryDropped:
                if (Spec is null || e.Step != Head) break;
                DroppedQueries.Add(e.Query);
                break;
            case RunEventKind.StepCommitted:
                if (Spec is null || e.Step != Head) break;
                int count = Spec.Mode == DistributionMode.QueryParallel ? QueryParallelPhases : Phases.Count;
                var losses = Enumerable.Range(0, count).Select(PhaseLossOrDropped).ToArray();
                var (seeds, gradients) = StepAudit.Derive(Options, e.Step, losses);
                Log.Add(new StepEntry(e.Step, losses, seeds, gradients, DroppedQueries.Order().ToArray()));
                Phases = new();
                DroppedQueries = new();
                break;
            case RunEventKind.CheckpointRecorded:
                if (e.Checkpoint is { } mark && Checkpoints.TrueForAll(c => c.Step != mark.Step)) Checkpoints.Add(mark);
                break;
            case RunEventKind.DigestRecorded:
                if (e.Digest is { } d) Digests.TryAdd(e.Step, d);
                break;
        }
    }

    /// <summary>Both probe points of a dropped query count as loss 0, so its g is 0 on every replica.</summary>
    internal double PhaseLossOrDropped(int phase) => IsDropped(phase) ? 0.0 : PhaseLoss(phase);

    internal CheckpointMark? NewestCheckpoint => Checkpoints.Count == 0 ? null : Checkpoints.MaxBy(c => c.Step);
}
