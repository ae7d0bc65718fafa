using NUnit.Framework;
using OrtZo.Cuda;
using OrtZo.WeightStore;
using OrtZo.Engine;

namespace OrtZo.Tests.Cuda;

public class PassDescriptorTests
{
    private static List<TrainableTensor> Tensors(SlabLayout layout) =>
    [
        new() { Slot = layout.Slots[0], Mask = MaskKind.Dense, Decay = true, StateBase = 0, Group = "a" },
        new() { Slot = layout.Slots[1], Mask = MaskKind.Frozen, Group = "b" },
        new() { Slot = layout.Slots[2], Mask = MaskKind.Magnitude, Threshold = 0.25f, StateBase = 10, Group = "c" },
        new() { Slot = layout.Slots[3], Mask = MaskKind.Random, KeepRatio = 0.5f, StateBase = 40, Group = "d" },
    ];

    private static SlabLayout Layout() => SlabLayout.Create(
    [
        new TensorSpec("a", DType.F32, [10]),
        new TensorSpec("b", DType.F32, [7]),
        new TensorSpec("c", DType.F16, [3, 10]),
        new TensorSpec("d", DType.BF16, [5]),
    ]);

    [Test]
    public void TensorsArePartitionedIntoQuadsInSegmentOrderSkippingFrozenOnes()
    {
        var layout = Layout();
        var p = new Perturbation(11, 1e-3f, 12);
        PassSegment[] pass =
        [
            new() { Slots = [2, 1], Apply = p, RecomputeMask = true },
            new() { Slots = [0, 3], Remove = p, Apply = p.Negated },
        ];
        var encoded = PassDescriptor.Encode(Tensors(layout), pass);
        var (header, tensors, segments, directions) = PassDescriptor.Decode(encoded.Bytes);

        Assert.That(tensors.Select(t => t.ElementCount), Is.EqualTo(new long[] { 30, 10, 5 }));
        Assert.That(tensors.Select(t => t.FirstQuad), Is.EqualTo(new long[] { 0, 8, 11 }));   // ⌈30/4⌉ = 8, ⌈10/4⌉ = 3
        Assert.That(header.TotalQuads, Is.EqualTo(13));
        Assert.That(encoded.TotalQuads, Is.EqualTo(13));
        Assert.That(tensors.Select(t => t.Segment), Is.EqualTo(new uint[] { 0, 1, 1 }));
        Assert.That(tensors.Select(t => t.ByteOffset), Is.EqualTo(new[] { layout.Slots[2].ByteOffset, layout.Slots[0].ByteOffset, layout.Slots[3].ByteOffset }));
        Assert.That(tensors.Select(t => t.CounterBase), Is.EqualTo(new[] { layout.Slots[2].CounterBase, layout.Slots[0].CounterBase, layout.Slots[3].CounterBase }));
        Assert.That(tensors.Select(t => t.DType), Is.EqualTo(new[] { PassDescriptor.DTypeF16, PassDescriptor.DTypeF32, PassDescriptor.DTypeBf16 }));
        Assert.That(tensors.Select(t => t.MaskKind), Is.EqualTo(new[] { PassDescriptor.MaskMagnitude, PassDescriptor.MaskDense, PassDescriptor.MaskRandom }));
        Assert.That(tensors[0].Threshold, Is.EqualTo(0.25f));
        Assert.That(tensors[2].KeepRatio, Is.EqualTo(0.5f));
        Assert.That(tensors.Select(t => t.StateBase), Is.EqualTo(new long[] { 10, 0, 40 }));
        Assert.That(tensors.Select(t => t.Decay), Is.EqualTo(new uint[] { 0, 1, 0 }));

        Assert.That(segments[0].Flags, Is.EqualTo(PassDescriptor.SegApply | PassDescriptor.SegRecomputeMask));
        Assert.That(segments[1].Flags, Is.EqualTo(PassDescriptor.SegRemove | PassDescriptor.SegApply));
        Assert.That((segments[1].RemoveSeed, segments[1].RemoveScale, segments[1].RemoveMaskSeed), Is.EqualTo((11UL, 1e-3f, 12UL)));
        Assert.That((segments[1].ApplySeed, segments[1].ApplyScale, segments[1].ApplyMaskSeed), Is.EqualTo((11UL, -1e-3f, 12UL)));
        Assert.That(directions, Is.Empty);
    }

    [Test]
    public void UpdatesCarryTheirRuleScalarsAndDirectionsInOrder()
    {
        var layout = Layout();
        var update = new UpdateSpec
        {
            Rule = UpdateRule.Adam, Directions = [new Direction(5, 0.5f), new Direction(6, -0.25f)], MaskSeed = 77,
            LearningRate = 1e-3f, WeightDecay = 0.1f, Beta1 = 0.9f, Beta2 = 0.99f, AdamEpsilon = 1e-8f, AdamStepSize = 2e-3f,
            AdamBias2Sqrt = 0.3f, StochasticRounding = true, RoundingSeed = 99,
        };
        var second = new UpdateSpec { Rule = UpdateRule.CommitOffset, Directions = [new Direction(8, 2f)] };
        PassSegment[] pass =
        [
            new() { Slots = [0], Remove = new Perturbation(1, -1e-3f, 0), Update = update },
            new() { Slots = [2], Update = second },
        ];
        var (_, _, segments, directions) = PassDescriptor.Decode(PassDescriptor.Encode(Tensors(layout), pass).Bytes);

        var s = segments[0];
        Assert.That(s.Flags, Is.EqualTo(PassDescriptor.SegRemove | PassDescriptor.SegUpdate | PassDescriptor.SegStochasticRounding));
        Assert.That(s.Rule, Is.EqualTo(PassDescriptor.RuleAdam));
        Assert.That((s.UpdateMaskSeed, s.RoundingSeed), Is.EqualTo((77UL, 99UL)));
        Assert.That(new[] { s.LearningRate, s.WeightDecay, s.Beta1, s.Beta2, s.AdamEpsilon, s.AdamStepSize, s.AdamBias2Sqrt },
            Is.EqualTo(new[] { 1e-3f, 0.1f, 0.9f, 0.99f, 1e-8f, 2e-3f, 0.3f }));
        Assert.That((s.DirectionStart, s.DirectionCount), Is.EqualTo((0u, 2u)));
        Assert.That((segments[1].DirectionStart, segments[1].DirectionCount, segments[1].Rule), Is.EqualTo((2u, 1u, PassDescriptor.RuleCommitOffset)));
        Assert.That(directions.Select(d => (d.Seed, d.Coefficient)), Is.EqualTo(new[] { (5UL, 0.5f), (6UL, -0.25f), (8UL, 2f) }));
    }

    [Test]
    public void EveryRuleMapsToADistinctKernelCode()
    {
        var codes = Enum.GetValues<UpdateRule>().Select(PassDescriptor.RuleCode).ToList();
        Assert.That(codes, Is.Unique);
    }
}
