using NUnit.Framework;
using OrtZo.WeightStore;
using OrtZo.Engine;

namespace OrtZo.Tests.Zo;

/// <summary>Block-wise ZO and ZO with gradient pruning (ZO-Bench's schemes) on the engine.</summary>
public class SchemeTests
{
    /// <summary>
    /// At every forward, records which tensors are away from the weights the step started from by more than
    /// restore rounding (an offset or an update moves weights by ~1e-3 here; an inexact restore by an ulp).
    /// </summary>
    private sealed class BlockWatcher(CpuSlab slab, QuadraticProbe inner) : IStepLosses
    {
        public float[][] Start = [];
        public List<int[]> Changed { get; } = new();

        public double Loss(long step, int probe)
        {
            Changed.Add(slab.Layout.Slots
                .Where(s => slab.ReadFloat32(s.Index).Zip(Start[s.Index]).Max(p => MathF.Abs(p.First - p.Second)) > 1e-5f)
                .Select(s => s.Index).ToArray());
            return inner.Loss(step, probe);
        }
    }

    [TestCase("coordinate")]
    [TestCase("jacobi")]
    public void BlockWisePerturbsOneBlockAtATime(string modeName)
    {
        var mode = modeName == "coordinate" ? BlockMode.Coordinate : BlockMode.Jacobi;
        var slab = EngineFixtures.RandomSlab(DType.F32, 4);
        using var _ = slab;
        // three blocks: slots {0,3,6}, {1,4,7}, {2,5}
        var tensors = EngineFixtures.Tensors(slab, [MaskKind.Dense]);
        var blocks = tensors.GroupBy(t => t.Group).OrderBy(g => g.Key).Select(g => (IReadOnlyList<int>)g.Select(t => t.Slot.Index).ToArray()).ToList();
        using var engine = TestEngines.Create(slab, tensors, 0, new ZoSettings { MasterSeed = 2, Blocks = mode }, blocks);
        var step = engine.Step;
        var watcher = new BlockWatcher(slab, new QuadraticProbe(slab, 1));
        for (int t = 0; t < 3; t++)
        {
            engine.Settle();
            watcher.Start = slab.Layout.Slots.Select(s => slab.ReadFloat32(s.Index)).ToArray();
            watcher.Changed.Clear();
            step.Run(t, 0.01f, watcher);
            Assert.That(watcher.Changed, Has.Count.EqualTo(2 * blocks.Count), "two forwards per block");
            for (int b = 0; b < blocks.Count; b++)
            {
                var expected = mode == BlockMode.Coordinate
                    ? blocks.Take(b + 1).SelectMany(x => x).Order().ToArray()   // earlier blocks already updated
                    : blocks[b].Order().ToArray();                             // Jacobi: nothing updated until the end
                Assert.That(watcher.Changed[2 * b].Order(), Is.EqualTo(expected), $"step {t}, block {b}, + forward");
                Assert.That(watcher.Changed[2 * b + 1].Order(), Is.EqualTo(expected), $"step {t}, block {b}, − forward");
            }
        }
    }

    [Test]
    public void PruningMasksAreReproducibleHitTheRatioAndRedrawOnSchedule()
    {
        const float keep = 0.3f;
        HashSet<long> Moved(int resample, long stepIndex)
        {
            var slab = EngineFixtures.RandomSlab(DType.F32, 2);
            using var _ = slab;
            var before = slab.Layout.Slots.Select(s => slab.ReadFloat32(s.Index)).ToArray();
            using var engine = TestEngines.Create(slab, EngineFixtures.Tensors(slab, [MaskKind.Random], keep: keep), 0, new ZoSettings { MasterSeed = 9, MaskResampleSteps = resample });
            var zo = engine.Step;
            var probe = new QuadraticProbe(slab, 1);
            // run only the perturbations of that step (lr 0): the moved elements are the mask
            zo.Run(stepIndex, 0f, new Capture(slab, before, probe, out var moved));
            return moved;
        }
        var a = Moved(1, 5);
        var b = Moved(1, 5);
        Assert.That(a, Is.EquivalentTo(b), "the mask is a function of the seed");
        long total = EngineFixtures.Shapes.Sum(s => s.Aggregate(1L, (x, y) => x * y));
        double ratio = (double)a.Count / total;
        double sd = Math.Sqrt(keep * (1 - keep) / total);
        TestContext.Out.WriteLine($"moved {ratio:P2} of {total} weights, keep ratio {keep}");
        Assert.That(ratio, Is.EqualTo(keep).Within(5 * sd));
        Assert.That(Moved(1, 6), Is.Not.EquivalentTo(a), "redrawn at the next step when resampling every step");
        Assert.That(Moved(4, 5), Is.EquivalentTo(Moved(4, 6)), "kept within a resampling window of 4 steps");
        Assert.That(Moved(4, 8), Is.Not.EquivalentTo(Moved(4, 7)), "redrawn when the window changes");
    }

    private sealed class Capture : IStepLosses
    {
        private readonly CpuSlab _slab;
        private readonly float[][] _before;
        private readonly IStepLosses _inner;
        private readonly HashSet<long> _moved;
        private bool _done;

        public Capture(CpuSlab slab, float[][] before, IStepLosses inner, out HashSet<long> moved)
        {
            (_slab, _before, _inner) = (slab, before, inner);
            moved = _moved = new HashSet<long>();
        }

        public double Loss(long step, int probe)
        {
            if (!_done)
            {
                foreach (var s in _slab.Layout.Slots)
                {
                    var now = _slab.ReadFloat32(s.Index);
                    for (int i = 0; i < now.Length; i++)
                        if (now[i] != _before[s.Index][i]) _moved.Add(s.CounterBase + i);
                }
                _done = true;
            }
            return _inner.Loss(step, probe);
        }
    }

    [Test]
    public void PruningRatiosComeFromGlobalMagnitudePruning()
    {
        var slab = EngineFixtures.RandomSlab(DType.F32, 3);
        using var _ = slab;
        var manifest = new OrtZo.Onnx.Model.ModelManifest
        {
            Inputs = new(), Outputs = new(), Groups = ["g"], MaxLength = 8,
            Tokenizer = new OrtZo.Onnx.Model.TokenizerInfo { Kind = "byte-bpe", Files = [] },
            WeightInputs = slab.Layout.Slots.Select(s => new OrtZo.Onnx.Model.WeightInput
            {
                Name = s.Spec.Name, Dtype = "f32", Shape = s.Spec.Shape, Role = OrtZo.Onnx.Model.WeightRole.Matrix, Group = "g",
            }).ToList(),
        };
        var ratios = OrtZo.Training.TrainingPlan.ComputeRatios(manifest, slab, new ZoOptions { GradientPruning = 0.6 });
        var all = slab.Layout.Slots.SelectMany(s => slab.ReadFloat32(s.Index).Select(MathF.Abs)).Order().ToArray();
        float threshold = all[(int)Math.Ceiling(0.6 * all.Length) - 1];
        foreach (var s in slab.Layout.Slots)
        {
            var v = slab.ReadFloat32(s.Index);
            Assert.That(ratios[s.Index], Is.EqualTo(1f - (float)v.Count(x => MathF.Abs(x) <= threshold) / v.Length).Within(1e-6), s.Spec.Name);
        }
        double keptOverall = slab.Layout.Slots.Sum(s => ratios[s.Index] * s.ElementCount) / all.Length;
        Assert.That(keptOverall, Is.EqualTo(0.4).Within(0.01), "40% of the weights are kept overall at a 0.6 pruning ratio");
    }
}
