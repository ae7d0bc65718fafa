namespace OrtZo.Engine;

/// <summary>What one step measured.</summary>
internal readonly record struct StepOutcome(double Loss, double ProjectedGradient, bool Skipped, int Forwards);

/// <summary>
/// The canonical sequence of weight operations of one ZO step — the only place it is defined. The CPU and
/// CUDA runners execute its passes, a resumed run and a distributed replica replay it (a replica's probe
/// returns the losses the run logged: one <see cref="IStepLosses"/> either way), so every copy of the weights sees the same arithmetic.
///
/// Between steps the slab holds θ_t − ε·z_{t−1} with the step's closing pass (restore, update) held back in
/// <see cref="WeightPasses"/>; a step opens by fusing that pass with its own first perturbation, so MeZO's four
/// weight passes per step (+ε, −2ε, +ε, update) become two: "A" turns θ+εz into θ−εz, "B" restores,
/// updates and perturbs for the next step. Element formulas: Reference/ScalarPassRunner.cs.
/// </summary>
internal sealed class ZoStep
{
    /// <summary>Seed indices beyond any query or block index, for the per-step mask and rounding streams.</summary>
    internal const int MaskSeedIndex = 1 << 24, RoundingSeedIndex = (1 << 24) + 1;

    private readonly WeightPasses _passes;
    private readonly ZoSettings _s;
    private readonly int[] _all;
    private readonly int[][] _blocks;

    public ZoStep(WeightPasses passes, ZoSettings settings, IReadOnlyList<IReadOnlyList<int>> blocks)
    {
        _passes = passes;
        _s = settings;
        if (settings.Queries < 1) throw new ArgumentOutOfRangeException(nameof(settings), "queries must be at least 1");
        if (settings.Estimator == Estimator.Conservative && settings.Queries != 1)
            throw new ArgumentException("ZO-SGD-Cons uses one query per step");
        if (settings.Blocks != BlockMode.None && (settings.Queries != 1 || settings.Estimator != Estimator.TwoPoint))
            throw new ArgumentException("block-wise ZO uses the two-point estimate with one query per block");
        var trainable = passes.Runner.Buffers.Trainable.Select(t => t.Slot.Index).ToHashSet();
        _all = trainable.Order().ToArray();
        _blocks = blocks.Select(b => b.Where(trainable.Contains).ToArray()).Where(b => b.Length > 0).ToArray();
        if (_all.Length == 0) throw new ArgumentException("no trainable tensors");
    }

    /// <summary>Updates applied so far (skipped steps excluded): Adam's t. Part of the run state.</summary>
    public long UpdatesApplied { get; set; }

    public StepOutcome Run(long step, float learningRate, IStepLosses losses)
    {
        var probe = new Probes(losses, step);
        if (_s.Blocks != BlockMode.None) return BlockWise(step, learningRate, probe);
        return _s.Estimator switch
        {
            Estimator.TwoPoint => TwoPoint(step, learningRate, probe),
            Estimator.OnePoint => OnePoint(step, learningRate, probe),
            Estimator.Conservative => Conservative(step, learningRate, probe),
            _ => throw new ArgumentOutOfRangeException(nameof(_s.Estimator)),
        };
    }

    /// <summary>Leaves θ in the slab (before evaluation, checkpoints, export).</summary>
    public void Settle() => _passes.Settle();

    // MeZO / Sparse-MeZO with q queries: +ε z_j → L+ ; flip → L− ; g_j = (L+ − L−)/2ε ; ĝ = Σ g_j z_j / q.
    private StepOutcome TwoPoint(long step, float lr, Probes probe)
    {
        int q = _s.Queries;
        ulong mask = MaskSeed(step);
        var seeds = new ulong[q];
        var losses = new double[2 * q];
        for (int j = 0; j < q; j++)
        {
            seeds[j] = ZoNoise.StepSeed(_s.MasterSeed, step, j);
            var plus = new Perturbation(seeds[j], _s.Epsilon, mask);
            if (j == 0) _passes.Run([Put(_all, plus, recomputeMask: true)]);                           // θ + εz_0
            else _passes.Run([Move(_all, new Perturbation(seeds[j - 1], -_s.Epsilon, mask), plus)]);     // θ − εz_{j−1} → θ + εz_j
            losses[2 * j] = probe.Loss();
            _passes.Run([Move(_all, plus, plus.Negated)]);                                                // pass A: θ + εz → θ − εz
            losses[2 * j + 1] = probe.Loss();
        }
        probe.Resolve(losses);
        var g = new double[q];
        for (int j = 0; j < q; j++) g[j] = (losses[2 * j] - losses[2 * j + 1]) / (2.0 * _s.Epsilon);
        double firstLoss = losses[0];
        var lastOffset = new Perturbation(seeds[q - 1], -_s.Epsilon, mask);
        bool skip = g.Any(v => !Usable(v / q));
        var directions = Enumerable.Range(0, q).Select(j => new Direction(seeds[j], (float)(g[j] / q))).ToArray();
        _passes.Defer([Close(_all, lastOffset, skip ? null : MakeUpdate(step, lr, directions, mask))]);   // pass B, held back
        return new StepOutcome(firstLoss, g[0], skip, 2 * q);
    }

    // One-point: L0 = L(θ) once; per query +εz_j → L_j ; g_j = (L_j − L0)/ε.
    private StepOutcome OnePoint(long step, float lr, Probes probe)
    {
        int q = _s.Queries;
        ulong mask = MaskSeed(step);
        _passes.Settle();
        double l0 = probe.Loss();
        var seeds = new ulong[q];
        var g = new double[q];
        for (int j = 0; j < q; j++)
        {
            seeds[j] = ZoNoise.StepSeed(_s.MasterSeed, step, j);
            var plus = new Perturbation(seeds[j], _s.Epsilon, mask);
            _passes.Run([Put(_all, plus, recomputeMask: j == 0)]);
            g[j] = (probe.Loss() - l0) / _s.Epsilon;
            if (j < q - 1) _passes.Defer([Close(_all, plus, null)]);
        }
        bool skip = !double.IsFinite(l0) || g.Any(v => !Usable(v / q));
        var directions = Enumerable.Range(0, q).Select(j => new Direction(seeds[j], (float)(g[j] / q))).ToArray();
        _passes.Defer([Close(_all, new Perturbation(seeds[q - 1], _s.Epsilon, mask), skip ? null : MakeUpdate(step, lr, directions, mask))]);
        return new StepOutcome(l0, g[0], skip, q + 1);
    }

    // ZO-SGD-Cons (ZO-Bench): L0 = L(θ); two-point g; candidates θ−ηĝ → L1 and θ+ηĝ → L2 as offsets
    // ∓fl(η·g)·z; keep the lowest of (L0, L1, L2) by committing that very offset. Five forwards.
    private StepOutcome Conservative(long step, float lr, Probes probe)
    {
        ulong mask = MaskSeed(step);
        ulong seed = ZoNoise.StepSeed(_s.MasterSeed, step, 0);
        _passes.Settle();
        double l0 = probe.Loss();
        var plus = new Perturbation(seed, _s.Epsilon, mask);
        _passes.Run([Put(_all, plus, recomputeMask: true)]);
        double lPlus = probe.Loss();
        _passes.Run([Move(_all, plus, plus.Negated)]);
        double lMinus = probe.Loss();
        double g = (lPlus - lMinus) / (2.0 * _s.Epsilon);
        if (!Usable(g) || !Usable((double)lr * g) || !double.IsFinite(l0))
        {
            _passes.Defer([Close(_all, plus.Negated, null)]);
            return new StepOutcome(lPlus, g, true, 3);
        }
        var descend = new Perturbation(seed, (float)(-(double)lr * g), mask);                          // θ − ηĝ
        _passes.Run([Move(_all, plus.Negated, descend)]);
        double l1 = probe.Loss();
        _passes.Run([Move(_all, descend, descend.Negated)]);                                            // θ + ηĝ
        double l2 = probe.Loss();
        // ZO-Bench's decision, comparison for comparison: the lowest of L0, L1, L2 with its tie-breaking
        Perturbation? keep = l1 > l0 ? (l0 < l2 ? null : descend.Negated) : (l1 < l2 ? descend : descend.Negated);
        var commit = keep is { } k
            ? new UpdateSpec { Rule = UpdateRule.CommitOffset, Directions = [new Direction(k.Seed, k.Scale)], MaskSeed = mask }
            : null;
        if (commit is not null) UpdatesApplied++;
        _passes.Defer([Close(_all, descend.Negated, commit)]);
        return new StepOutcome(lPlus, g, false, 5);
    }

    // Block-wise two-point ZO: one seed per block; Coordinate updates each block right after its estimate,
    // Jacobi estimates every block at the same θ and updates them all together.
    private StepOutcome BlockWise(long step, float lr, Probes probe)
    {
        ulong mask = MaskSeed(step);
        double lossSum = 0, firstG = 0;
        bool anySkipped = false;
        var jacobi = new List<PassSegment>();
        for (int b = 0; b < _blocks.Length; b++)
        {
            var slots = _blocks[b];
            var plus = new Perturbation(ZoNoise.StepSeed(_s.MasterSeed, step, b), _s.Epsilon, mask);
            _passes.Run([Put(slots, plus, recomputeMask: true)]);
            double lPlus = probe.Loss();
            _passes.Run([Move(slots, plus, plus.Negated)]);
            double lMinus = probe.Loss();
            double g = (lPlus - lMinus) / (2.0 * _s.Epsilon);
            bool skip = !Usable(g);
            anySkipped |= skip;
            lossSum += lPlus;
            if (b == 0) firstG = g;
            var update = skip ? null : MakeUpdate(step, lr, [new Direction(plus.Seed, (float)g)], mask, countUpdate: false);
            bool last = b == _blocks.Length - 1;
            if (_s.Blocks == BlockMode.Coordinate || last)
            {
                _passes.Defer([.. jacobi, Close(slots, plus.Negated, update)]);
                jacobi.Clear();
            }
            else
            {
                _passes.Defer([Close(slots, plus.Negated, null)]);
                if (update is not null) jacobi.Add(new PassSegment { Slots = slots, Update = update });
            }
        }
        if (!anySkipped) UpdatesApplied++;
        return new StepOutcome(lossSum / _blocks.Length, firstG, anySkipped, 2 * _blocks.Length);
    }

    /// <summary>Numbers the probe points of one step in visiting order.</summary>
    private sealed class Probes(IStepLosses losses, long step)
    {
        private int _next;

        public double Loss() => losses.Loss(step, _next++);

        public void Resolve(Span<double> values) => losses.Resolve(step, values);
    }

    /// <summary>
    /// A step's estimate is applied only when the float32 coefficient the kernels receive is finite: a NaN or
    /// infinite loss, or a finite g beyond float32's range, skips the update (the weights are restored exactly).
    /// </summary>
    private static bool Usable(double coefficient) => float.IsFinite((float)coefficient);

    private static PassSegment Put(int[] slots, Perturbation p, bool recomputeMask) =>
        new() { Slots = slots, Apply = p, RecomputeMask = recomputeMask };

    private static PassSegment Move(int[] slots, Perturbation from, Perturbation to) =>
        new() { Slots = slots, Remove = from, Apply = to };

    private static PassSegment Close(int[] slots, Perturbation offset, UpdateSpec? update) =>
        new() { Slots = slots, Remove = offset, Update = update };

    private ulong MaskSeed(long step)
    {
        long epoch = step / Math.Max(1, _s.MaskResampleSteps) * Math.Max(1, _s.MaskResampleSteps);
        return ZoNoise.StepSeed(_s.MasterSeed, epoch, MaskSeedIndex);
    }

    private UpdateSpec MakeUpdate(long step, float lr, IReadOnlyList<Direction> directions, ulong mask, bool countUpdate = true)
    {
        long t = UpdatesApplied + 1;
        if (countUpdate) UpdatesApplied = t;
        double bias1 = 1 - Math.Pow(_s.Beta1, t), bias2 = 1 - Math.Pow(_s.Beta2, t);
        return new UpdateSpec
        {
            Rule = _s.Rule,
            Directions = directions,
            MaskSeed = mask,
            LearningRate = lr,
            WeightDecay = _s.WeightDecay,
            Beta1 = _s.Beta1,
            Beta2 = _s.Beta2,
            AdamEpsilon = _s.AdamEpsilon,
            AdamStepSize = (float)(lr / bias1),
            AdamBias2Sqrt = (float)Math.Sqrt(bias2),
            StochasticRounding = _s.StochasticRounding,
            RoundingSeed = ZoNoise.StepSeed(_s.MasterSeed, step, RoundingSeedIndex),
        };
    }
}
