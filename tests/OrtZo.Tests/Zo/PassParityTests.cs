using NUnit.Framework;
using OrtZo.Engine;
using OrtZo.Engine.Reference;
using OrtZo.WeightStore;

namespace OrtZo.Tests.Zo;

/// <summary>
/// The SIMD CPU runner against the scalar specification over the engine's one case table (the same cases the CUDA
/// check and the bench run): weights, mask bits and optimizer state after every pass, bit for bit.
/// </summary>
public class PassParityTests
{
    public static IEnumerable<TestCaseData> Cases() => PassCases.All.Select(c => new TestCaseData(c.Name).SetName($"SIMD equals the specification: {c.Name}"));

    [TestCaseSource(nameof(Cases))]
    public void SimdRunnerMatchesScalarSpecification(string name)
    {
        var c = PassCases.All.Single(x => x.Name == name);
        var result = PassCaseCheck.Run(c, buffers => new CpuPassRunner(buffers, threads: 2));
        Assert.That(result.Passed, Is.True, result.Detail);
    }

    [Test]
    public void TheTableCoversEveryDimension()
    {
        var all = PassCases.All;
        Assert.That(all.SelectMany(c => c.Tensors.Select(t => t.DType)).Distinct(), Is.EquivalentTo(PassCases.DTypes));
        Assert.That(all.SelectMany(c => c.Tensors.Select(t => t.Mask)).Distinct(), Is.EquivalentTo(Enum.GetValues<MaskKind>()));
        var updates = all.SelectMany(c => c.Passes(c.TrainableSlots())).SelectMany(p => p).Where(s => s.Update is not null).Select(s => s.Update!).ToList();
        Assert.That(updates.Select(u => u.Rule).Distinct(), Is.EquivalentTo(Enum.GetValues<UpdateRule>()));
        Assert.That(updates.Select(u => u.StochasticRounding).Distinct(), Is.EquivalentTo(new[] { false, true }));
        Assert.That(updates.Select(u => u.Directions.Count).Distinct(), Does.Contain(1).And.Contain(3), "one and several directions (q-query)");
        Assert.That(all.Any(c => c.Passes(c.TrainableSlots()).Any(p => p.Length > 1)), "a pass of several segments");
        var sizes = all.SelectMany(c => c.Tensors.Select(t => t.Shape.Aggregate(1L, (a, b) => a * b))).ToHashSet();
        Assert.That(Enumerable.Range(0, 257).All(r => sizes.Contains(64 + r)), "every tail 0..256 behind 64 elements");
        Assert.That(all.Any(c => c.CounterOrigin < 1L << 34 && c.CounterOrigin + c.Tensors.Sum(t => t.Shape.Aggregate(1L, (a, b) => a * b)) > 1L << 34),
            "counters across the Philox carry at 2^34");
        Assert.That(all.SelectMany(c => c.Passes(c.TrainableSlots())).SelectMany(p => p).Any(s => s.Remove is not null && s.Update is not null && s.Apply is not null),
            "the fused close-and-open pass");
    }

    [Test]
    public void AWrongKernelIsCaught()
    {
        // the check itself must see a one-ulp difference in one element
        var c = PassCases.All.First(x => x.Name.StartsWith("f32 sgd q1", StringComparison.Ordinal));
        var result = PassCaseCheck.Run(c, buffers => new OffByOneUlp(new CpuPassRunner(buffers, threads: 2), buffers));
        Assert.That(result.Passed, Is.False);
        Assert.That(result.Detail, Does.Contain("pass 0: tensor 't1'"));
    }

    private sealed unsafe class OffByOneUlp(IPassRunner inner, WeightBuffers buffers) : IPassRunner
    {
        public WeightBuffers Buffers => inner.Buffers;
        public void Run(IReadOnlyList<PassSegment> segments)
        {
            inner.Run(segments);
            var w = (uint*)buffers.Slab.Pointer(1);
            w[3] += 1;
        }
        public void DownloadState() => inner.DownloadState();
        public void UploadState() => inner.UploadState();
        public void Dispose() => inner.Dispose();
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
