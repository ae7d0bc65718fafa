namespace OrtZo.Engine;

/// <summary>
/// Issues weight passes and holds back the update that ends a step. A step's last pass (restore + update)
/// is not run at once: if the next thing is another step, it is fused with that step's first perturbation
/// into one pass over the weights; if the next thing reads the weights (evaluation, checkpoint, export), it
/// runs alone (<see cref="Settle"/>). Both orders give bit-identical weights — the update result is rounded
/// to the storage type before the next offset is added — so fusing is purely a saving of memory traffic and
/// never changes a run: an evaluated, checkpointed, resumed or replayed run applies the same arithmetic.
/// </summary>
internal sealed class WeightPasses
{
    private IReadOnlyList<PassSegment>? _pending;

    public WeightPasses(IPassRunner runner) => Runner = runner;

    public IPassRunner Runner { get; }

    /// <summary>True when the weights hold exactly θ (no offset on them, no update held back).</summary>
    public bool IsSettled => _pending is null;

    /// <summary>Passes executed so far (a fused pass counts once).</summary>
    public long PassCount { get; private set; }

    /// <summary>Runs a pass, fusing the held-back update into it where the two cover the same tensors.</summary>
    public void Run(IReadOnlyList<PassSegment> segments)
    {
        if (_pending is { } pending)
        {
            _pending = null;
            if (TryFuse(pending, segments, out var fused))
            {
                Execute(fused);
                return;
            }
            Execute(pending);
        }
        Execute(segments);
    }

    /// <summary>Holds back the step's closing pass (remove its last offset, apply its update).</summary>
    public void Defer(IReadOnlyList<PassSegment> closing)
    {
        if (_pending is not null) Settle();
        _pending = closing;
    }

    /// <summary>Runs the held-back pass alone, leaving θ in the slab.</summary>
    public void Settle()
    {
        if (_pending is { } pending)
        {
            _pending = null;
            Execute(pending);
        }
    }

    private void Execute(IReadOnlyList<PassSegment> segments)
    {
        Runner.Run(segments);
        PassCount++;
    }

    // Fusable when every new segment only applies an offset and the pending segments do not apply one, over
    // tensor sets that are either identical (merged element-wise) or disjoint (run side by side).
    private static bool TryFuse(IReadOnlyList<PassSegment> pending, IReadOnlyList<PassSegment> next, out List<PassSegment> fused)
    {
        fused = new List<PassSegment>(pending.Count + next.Count);
        if (pending.Any(p => p.Apply is not null) || next.Any(n => n.Remove is not null || n.Update is not null))
            return false;
        var usedNext = new bool[next.Count];
        foreach (var p in pending)
        {
            int match = -1;
            for (int i = 0; i < next.Count; i++)
                if (!usedNext[i] && next[i].Slots.SequenceEqual(p.Slots)) { match = i; break; }
            if (match >= 0)
            {
                usedNext[match] = true;
                fused.Add(p with { Apply = next[match].Apply, RecomputeMask = next[match].RecomputeMask });
            }
            else
            {
                fused.Add(p);
            }
        }
        for (int i = 0; i < next.Count; i++)
            if (!usedNext[i]) fused.Add(next[i]);
        var seen = new HashSet<int>();
        foreach (var s in fused)
            foreach (int slot in s.Slots)
                if (!seen.Add(slot)) return false;  // partial overlap: run one after the other instead
        return true;
    }
}
