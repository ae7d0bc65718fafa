using NUnit.Framework;
using OrtZo.WeightStore;
using OrtZo.Engine;
using OrtZo.Engine.Reference;

namespace OrtZo.Tests.Zo;

/// <summary>The SIMD CPU runner against the scalar specification: weights, mask bits and optimizer state bit for bit.</summary>
public class PassParityTests
{
    private static readonly MaskKind[] AllKinds = [MaskKind.Dense, MaskKind.Magnitude, MaskKind.Random, MaskKind.Frozen];

    private static UpdateSpec Update(UpdateRule rule, IReadOnlyList<Direction> dirs, ulong maskSeed, bool sr) => new()
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
        StochasticRounding = sr,
        RoundingSeed = 99,
    };

    /// <summary>A sequence covering every pass shape the step programs issue.</summary>
    private static IEnumerable<PassSegment[]> Sequence(int[] slots, UpdateRule rule, int queries, bool sr)
    {
        const ulong mask0 = 1234, mask1 = 5678;
        var p0 = new Perturbation(11, 1e-2f, mask0);
        var p1 = new Perturbation(22, 1e-2f, mask0);
        var next = new Perturbation(33, 1e-2f, mask1);
        var dirs = queries == 1 ? new[] { new Direction(11, 0.7f) } : new[] { new Direction(11, 0.7f), new Direction(22, -1.3f), new Direction(44, 0.05f) }[..queries];
        yield return [new PassSegment { Slots = slots, Apply = p0, RecomputeMask = true }];                            // open a step
        yield return [new PassSegment { Slots = slots, Remove = p0, Apply = p0.Negated }];                             // pass A
        yield return [new PassSegment { Slots = slots, Remove = p0.Negated, Apply = p1 }];                             // next query
        yield return [new PassSegment { Slots = slots, Remove = p1, Apply = p1.Negated }];
        yield return [new PassSegment { Slots = slots, Remove = p1.Negated, Update = Update(rule, dirs, mask0, sr), Apply = next, RecomputeMask = true }]; // fused B
        yield return [new PassSegment { Slots = slots, Remove = next, Apply = next.Negated }];
        yield return [new PassSegment { Slots = slots, Remove = next.Negated, Update = Update(rule, [new Direction(33, -2.5f)], mask1, sr) }];   // settle
        yield return [new PassSegment { Slots = slots, Update = Update(rule, [new Direction(55, 0.3f)], mask1, sr) }];                         // update only
    }

    public static IEnumerable<TestCaseData> Cases()
    {
        foreach (var dtype in TestDTypes.All)
            foreach (string rule in new[] { "sgd", "sign", "momentum", "adam", "commit" })
                foreach (int queries in rule == "commit" ? new[] { 1 } : new[] { 1, 3 })
                    foreach (bool sr in new[] { false, true })
                        yield return new TestCaseData(dtype, rule, queries, sr);
    }

    [TestCaseSource(nameof(Cases))]
    public void SimdRunnerMatchesScalarSpecification(string dtypeName, string ruleName, int queries, bool stochasticRounding)
    {
        var dtype = TestDTypes.Parse(dtypeName);
        var rule = ruleName switch
        {
            "sgd" => UpdateRule.Sgd, "sign" => UpdateRule.Sign, "momentum" => UpdateRule.Momentum, "adam" => UpdateRule.Adam, _ => UpdateRule.CommitOffset,
        };
        int stateBuffers = rule switch { UpdateRule.Momentum => 1, UpdateRule.Adam => 2, _ => 0 };
        var (a, b) = EngineFixtures.Twins(dtype, AllKinds, stateBuffers, seed: 5);
        using var slabA = a.Slab;
        using var slabB = b.Slab;
        using var _a = a;
        using var _b = b;
        using var simd = new CpuPassRunner(b, threads: 2);
        var slots = EngineFixtures.AllSlots(a);
        int pass = 0;
        foreach (var segments in Sequence(slots, rule, queries, stochasticRounding))
        {
            ScalarPassRunner.Run(a, segments);
            simd.Run(segments);
            Assert.That(EngineFixtures.Snapshot(b), Is.EqualTo(EngineFixtures.Snapshot(a)), $"pass {pass} differs");
            pass++;
        }
    }

    [Test]
    public void MixedDTypeSlabAndSplitSegmentsMatch()
    {
        var (a, b) = EngineFixtures.Twins(DType.F32, [MaskKind.Dense, MaskKind.Magnitude], 0, seed: 9, mixed: true);
        using var slabA = a.Slab;
        using var slabB = b.Slab;
        using var _a = a;
        using var _b = b;
        using var simd = new CpuPassRunner(b, threads: 2);
        var slots = EngineFixtures.AllSlots(a);
        var first = slots.Where(s => s % 2 == 0).ToArray();
        var second = slots.Where(s => s % 2 == 1).ToArray();
        var p = new Perturbation(7, 5e-3f, 0);
        var q = new Perturbation(8, 5e-3f, 0);
        PassSegment[] pass = [new PassSegment { Slots = first, Apply = p, RecomputeMask = true }, new PassSegment { Slots = second, Apply = q, RecomputeMask = true }];
        ScalarPassRunner.Run(a, pass);
        simd.Run(pass);
        Assert.That(EngineFixtures.Snapshot(b), Is.EqualTo(EngineFixtures.Snapshot(a)));
    }

    [Test]
    public void FrozenTensorsAreNeverTouched()
    {
        var (a, _) = EngineFixtures.Twins(DType.F32, [MaskKind.Frozen, MaskKind.Dense], 0, seed: 3);
        using var slab = a.Slab;
        using var _a = a;
        var before = Enumerable.Range(0, slab.Layout.Slots.Count).Select(i => slab.Bytes(i).ToArray()).ToList();
        using var simd = new CpuPassRunner(a, 2);
        simd.Run([new PassSegment { Slots = Enumerable.Range(0, slab.Layout.Slots.Count).ToArray(), Apply = new Perturbation(1, 0.5f, 0), RecomputeMask = true }]);
        for (int i = 0; i < before.Count; i++)
        {
            if (a.Tensors[i].Mask == MaskKind.Frozen) Assert.That(slab.Bytes(i).ToArray(), Is.EqualTo(before[i]), $"frozen tensor {i} changed");
            else Assert.That(slab.Bytes(i).ToArray(), Is.Not.EqualTo(before[i]), $"dense tensor {i} did not move");
        }
    }
}
