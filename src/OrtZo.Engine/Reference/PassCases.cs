using OrtZo.Engine.Rng;
using OrtZo.WeightStore;

namespace OrtZo.Engine.Reference;

/// <summary>One tensor of a pass case.</summary>
internal readonly record struct CaseTensor(DType DType, long[] Shape, MaskKind Mask);

/// <summary>
/// One case of the kernel check: a slab of tensors (dtypes, sizes, mask kinds, where its counters start), the
/// optimizer state it carries, and a sequence of passes. Every implementation of the weight passes — the SIMD
/// runner, the CUDA kernels, their host emulation — runs the same cases against the scalar specification
/// (<see cref="PassCaseCheck"/>), and the bench times them.
/// </summary>
internal sealed record PassCase
{
    public required string Name { get; init; }
    public required IReadOnlyList<CaseTensor> Tensors { get; init; }
    public required int StateBuffers { get; init; }
    public required Func<int[], IReadOnlyList<PassSegment[]>> Passes { get; init; }
    public long CounterOrigin { get; init; }
    public int Seed { get; init; }

    /// <summary>Sparse-MeZO's sparsity for the magnitude-masked tensors (their thresholds come from the initial weights).</summary>
    public double Sparsity { get; init; } = 0.7;

    /// <summary>Gradient pruning's keep ratio for the randomly masked tensors.</summary>
    public float KeepRatio { get; init; } = 0.4f;

    /// <summary>The same case with every tensor <paramref name="factor"/> times larger (bench sizes), keeping its tail.</summary>
    public PassCase Scaled(long factor) => this with
    {
        Name = $"{Name} ×{factor}",
        Tensors = Tensors.Select(t => t with { Shape = [t.Shape.Aggregate(1L, (a, b) => a * b) * factor + 1] }).ToList(),
    };

    /// <summary>A fresh slab and training state with the case's deterministic contents.</summary>
    public CaseBuffers Build()
    {
        var specs = Tensors.Select((t, i) => new TensorSpec($"t{i}", t.DType, t.Shape)).ToList();
        var slab = CpuSlab.Allocate(SlabLayout.Create(specs, CounterOrigin));
        try
        {
            var rnd = new Random(Seed);
            foreach (var slot in slab.Layout.Slots) slab.WriteFloat32(slot.Index, Weights(rnd, slot.ElementCount));
            var tensors = new List<TrainableTensor>();
            long state = 0;
            foreach (var slot in slab.Layout.Slots)
            {
                var kind = Tensors[slot.Index].Mask;
                tensors.Add(new TrainableTensor
                {
                    Slot = slot,
                    Mask = kind,
                    Threshold = kind == MaskKind.Magnitude ? MagnitudeThreshold.Compute(slab.ReadFloat32(slot.Index), Sparsity) : 0f,
                    KeepRatio = kind == MaskKind.Random ? KeepRatio : 1f,
                    Decay = slot.Index % 2 == 0,
                    StateBase = kind == MaskKind.Frozen ? 0 : state,
                    Group = $"g{slot.Index % 3}",
                });
                if (kind != MaskKind.Frozen) state = SlabLayout.AlignUp(state + slot.ElementCount, 64);
            }
            var buffers = new WeightBuffers(slab, tensors, StateBuffers);
            RandomizeState(buffers, rnd);
            return new CaseBuffers(slab, buffers);
        }
        catch
        {
            slab.Dispose();
            throw;
        }
    }

    /// <summary>The trainable slots of the case, in order (what a whole-model segment covers).</summary>
    public int[] TrainableSlots() => Tensors.Select((t, i) => (t, i)).Where(p => p.t.Mask != MaskKind.Frozen).Select(p => p.i).ToArray();

    public override string ToString() => Name;

    // Mostly N(0, 0.05)-like values with exact and signed zeros and a few large ones: every rounding path.
    private static float[] Weights(Random rnd, long n)
    {
        var v = new float[n];
        for (long i = 0; i < n; i++)
        {
            double u = rnd.NextDouble();
            v[i] = u < 0.02 ? 0f : u < 0.03 ? -0f : u < 0.05 ? (float)(rnd.NextDouble() * 8 - 4) : (float)(Gaussian(rnd) * 0.05);
        }
        return v;
    }

    private static unsafe void RandomizeState(WeightBuffers b, Random rnd)
    {
        if (b.State1 is { } s1) for (long i = 0; i < b.StateLength; i++) ((float*)s1.Pointer)[i] = (float)(Gaussian(rnd) * 0.01);
        if (b.State2 is { } s2) for (long i = 0; i < b.StateLength; i++) ((float*)s2.Pointer)[i] = (float)(rnd.NextDouble() * 1e-4);
    }

    private static double Gaussian(Random rnd) => Math.Sqrt(-2 * Math.Log(1 - rnd.NextDouble())) * Math.Cos(2 * Math.PI * rnd.NextDouble());
}

/// <summary>A case's slab and training state; disposing releases both.</summary>
internal sealed class CaseBuffers(CpuSlab slab, WeightBuffers buffers) : IDisposable
{
    public CpuSlab Slab { get; } = slab;
    public WeightBuffers Buffers { get; } = buffers;

    public void Dispose()
    {
        Buffers.Dispose();
        Slab.Dispose();
    }
}

/// <summary>
/// The case table: dtypes × rules × queries × stochastic rounding over odd-sized tensors of every mask kind; every
/// tail length 0..256; several segments in one pass over a mixed-dtype slab; counters across the Philox counter's
/// 32-bit carry. Sized for a check that runs in seconds on the scalar specification.
/// </summary>
internal static class PassCases
{
    public static readonly DType[] DTypes = [DType.F32, DType.F16, DType.BF16];

    /// <summary>Element counts that hit empty vector tails, one-element tails, mask-word and chunk boundaries.</summary>
    public static readonly long[][] OddShapes = [[1], [7], [64], [65, 3], [130], [17, 31], [4097], [9000]];

    private static readonly MaskKind[] AllKinds = [MaskKind.Dense, MaskKind.Magnitude, MaskKind.Random, MaskKind.Frozen];

    public static IReadOnlyList<PassCase> All { get; } = Build();

    private static List<PassCase> Build()
    {
        var cases = new List<PassCase>();
        foreach (var dtype in DTypes)
            foreach (var rule in Enum.GetValues<UpdateRule>())
                foreach (int queries in rule == UpdateRule.CommitOffset ? [1] : new[] { 1, 3 })
                    foreach (bool sr in new[] { false, true })
                        cases.Add(new PassCase
                        {
                            Name = $"{dtype.ToShortName()} {RuleName(rule)} q{queries}{(sr ? " sr" : "")}",
                            Tensors = OddShapes.Select((s, i) => new CaseTensor(dtype, s, AllKinds[i % AllKinds.Length])).ToList(),
                            StateBuffers = StateBuffersOf(rule),
                            Passes = slots => StepSequence(slots, rule, queries, sr),
                            Seed = 5,
                        });
        foreach (var dtype in DTypes)
            cases.Add(new PassCase
            {
                // tensors of 64 + r elements for r = 0..256: every tail behind whole vectors, mask words and quads
                Name = $"{dtype.ToShortName()} tails 0..256",
                Tensors = Enumerable.Range(0, 257).Select(r => new CaseTensor(dtype, [64 + r], AllKinds[r % 3])).ToList(),
                StateBuffers = 2,
                Passes = slots => StepSequence(slots, UpdateRule.Adam, 1, stochastic: dtype != DType.F32).Take(5).ToList(),
                Seed = 11,
            });
        cases.Add(new PassCase
        {
            Name = "mixed dtypes, several segments",
            Tensors = OddShapes.Select((s, i) => new CaseTensor(DTypes[i % 3], s, i % 4 == 3 ? MaskKind.Magnitude : AllKinds[i % 3])).ToList(),
            StateBuffers = 1,
            Passes = Segments,
            Seed = 9,
        });
        foreach (var dtype in DTypes)
            cases.Add(new PassCase
            {
                // block index n/4 crosses 2^32 at counter 2^34: the carry from c0 into c1 inside the tensors
                Name = $"{dtype.ToShortName()} counters across 2^34",
                Tensors = [new(dtype, [5000], MaskKind.Dense), new(dtype, [77], MaskKind.Magnitude), new(dtype, [3001], MaskKind.Random)],
                StateBuffers = 1,
                Passes = slots => StepSequence(slots, UpdateRule.Momentum, 1, stochastic: dtype != DType.F32),
                CounterOrigin = (1L << 34) - 2048,
                Seed = 13,
            });
        return cases;
    }

    public static int StateBuffersOf(UpdateRule rule) => rule switch { UpdateRule.Momentum => 1, UpdateRule.Adam => 2, _ => 0 };

    private static string RuleName(UpdateRule rule) => rule switch
    {
        UpdateRule.CommitOffset => "commit",
        _ => rule.ToString().ToLowerInvariant(),
    };

    private static UpdateSpec Update(UpdateRule rule, IReadOnlyList<Direction> dirs, ulong maskSeed, bool stochastic, ulong roundingSeed) => new()
    {
        Rule = rule,
        Directions = dirs,
        MaskSeed = maskSeed,
        LearningRate = 3e-3f,
        WeightDecay = 0.1f,
        Beta1 = 0.9f,
        Beta2 = 0.999f,
        AdamEpsilon = 1e-8f,
        AdamStepSize = 3e-3f / (1 - 0.9f * 0.9f),
        AdamBias2Sqrt = MathF.Sqrt(1 - 0.999f * 0.999f),
        StochasticRounding = stochastic,
        RoundingSeed = roundingSeed,
    };

    /// <summary>Every pass shape the step programs issue: open, flip, next query, fused close-and-open, settle, update alone.</summary>
    public static IReadOnlyList<PassSegment[]> StepSequence(int[] slots, UpdateRule rule, int queries, bool stochastic)
    {
        ulong mask0 = Noise.DeriveSeed(7, 0, 1 << 24), mask1 = Noise.DeriveSeed(7, 1, 1 << 24);
        var p0 = new Perturbation(Noise.DeriveSeed(7, 0, 0), 1e-2f, mask0);
        var p1 = new Perturbation(Noise.DeriveSeed(7, 0, 1), 1e-2f, mask0);
        var next = new Perturbation(Noise.DeriveSeed(7, 1, 0), 1e-2f, mask1);
        Direction[] dirs = queries == 1
            ? [new(p0.Seed, 0.7f)]
            : new Direction[] { new(p0.Seed, 0.7f), new(p1.Seed, -1.3f), new(Noise.DeriveSeed(7, 0, 2), 0.05f) }[..queries];
        return
        [
            [new PassSegment { Slots = slots, Apply = p0, RecomputeMask = true }],
            [new PassSegment { Slots = slots, Remove = p0, Apply = p0.Negated }],
            [new PassSegment { Slots = slots, Remove = p0.Negated, Apply = p1 }],
            [new PassSegment { Slots = slots, Remove = p1, Apply = p1.Negated }],
            [new PassSegment { Slots = slots, Remove = p1.Negated, Update = Update(rule, dirs, mask0, stochastic, 99), Apply = next, RecomputeMask = true }],
            [new PassSegment { Slots = slots, Remove = next, Apply = next.Negated }],
            [new PassSegment { Slots = slots, Remove = next.Negated, Update = Update(rule, [new Direction(next.Seed, -2.5f)], mask1, stochastic, 100) }],
            [new PassSegment { Slots = slots, Update = Update(rule, [new Direction(55, 0.3f)], mask1, stochastic, 101) }],
        ];
    }

    // Block-wise passes: disjoint segments with their own offsets, and a Jacobi close updating two blocks at once.
    private static IReadOnlyList<PassSegment[]> Segments(int[] slots)
    {
        int[] even = slots.Where(s => s % 2 == 0).ToArray(), odd = slots.Where(s => s % 2 == 1).ToArray();
        var p = new Perturbation(7, 5e-3f, 21);
        var q = new Perturbation(8, -5e-3f, 22);
        return
        [
            [new PassSegment { Slots = even, Apply = p, RecomputeMask = true }, new PassSegment { Slots = odd, Apply = q, RecomputeMask = true }],
            [new PassSegment { Slots = even, Remove = p, Apply = p.Negated }, new PassSegment { Slots = odd, Remove = q, Apply = q.Negated }],
            [new PassSegment { Slots = even, Remove = p.Negated, Update = Update(UpdateRule.Momentum, [new Direction(7, 0.9f)], 21, false, 5) },
             new PassSegment { Slots = odd, Remove = q.Negated, Update = Update(UpdateRule.Momentum, [new Direction(8, -0.4f)], 22, false, 6) }],
        ];
    }
}
