using System.Globalization;
using System.Text.Json;
using NUnit.Framework;
using OrtZo.Engine;
using OrtZo.Engine.Rng;
using OrtZo.WeightStore;

namespace OrtZo.Tests.Reference;

/// <summary>
/// The engine against a second implementation written from docs/rng.md and docs/zo-step.md alone: a numpy model
/// (tools/reference/zo_reference.py, output committed as Fixtures/reference/zo_reference.json) of the counter RNG
/// and of three MeZO and Sparse-MeZO steps with given losses. Noise, derived seeds, Sparse-MeZO thresholds and the
/// weights after every step must equal the fixture bit for bit, on the scalar specification and on the SIMD kernels.
/// </summary>
public class IndependentReferenceTests
{
    private static readonly JsonElement Root = JsonDocument.Parse(File.ReadAllText(
        Path.Combine(TestPaths.RepoRoot, "tests", "OrtZo.Tests", "Fixtures", "reference", "zo_reference.json"))).RootElement;

    private static ulong Hex64(JsonElement e) => ulong.Parse(e.GetString()!.AsSpan(2), NumberStyles.HexNumber);
    private static uint Hex32(string s) => uint.Parse(s, NumberStyles.HexNumber);

    [Test]
    public void NormalsEqualTheIndependentModel()
    {
        int rows = 0;
        foreach (var c in Root.GetProperty("normals").EnumerateArray())
        {
            ulong seed = Hex64(c.GetProperty("seed"));
            var stream = (NoiseStream)c.GetProperty("stream").GetInt32();
            long first = c.GetProperty("first_counter").GetInt64();
            var expected = c.GetProperty("bits").EnumerateArray().Select(b => Hex32(b.GetString()!)).ToArray();
            var fast = new float[expected.Length];
            Noise.FillNormals(seed, stream, first, fast);
            for (int i = 0; i < expected.Length; i++)
            {
                Assert.That(BitConverter.SingleToUInt32Bits(fast[i]), Is.EqualTo(expected[i]), $"seed {seed:x} counter {first + i} (fill kernel)");
                Assert.That(BitConverter.SingleToUInt32Bits(Noise.Normal(seed, stream, first + i)), Is.EqualTo(expected[i]), $"seed {seed:x} counter {first + i} (oracle)");
            }
            rows++;
        }
        Assert.That(rows, Is.GreaterThanOrEqualTo(10));
    }

    [Test]
    public void DerivedSeedsEqualTheIndependentModel()
    {
        foreach (var c in Root.GetProperty("derived_seeds").EnumerateArray())
            Assert.That(Noise.DeriveSeed(Hex64(c.GetProperty("master_seed")), c.GetProperty("step").GetInt64(), c.GetProperty("query").GetInt32()),
                Is.EqualTo(Hex64(c.GetProperty("seed"))), c.ToString());
    }

    public static IEnumerable<TestCaseData> Scenarios()
    {
        foreach (var s in Root.GetProperty("steps").EnumerateArray())
            foreach (var kernels in new[] { "reference", "simd" })
                foreach (bool settleEachStep in new[] { true, false })
                    yield return new TestCaseData(s.GetProperty("name").GetString(), kernels, settleEachStep)
                        .SetName($"{s.GetProperty("name").GetString()} on the {kernels} kernels, {(settleEachStep ? "settled after each step" : "closes fused")}");
    }

    [TestCaseSource(nameof(Scenarios))]
    public void StepsEqualTheIndependentModel(string name, string kernels, bool settleEachStep)
    {
        var s = Root.GetProperty("steps").EnumerateArray().Single(x => x.GetProperty("name").GetString() == name);
        var tensors = s.GetProperty("tensors").EnumerateArray().ToList();
        var specs = tensors.Select(t => new TensorSpec(t.GetProperty("name").GetString()!, TestDTypes.Parse(t.GetProperty("dtype").GetString()!),
            t.GetProperty("shape").EnumerateArray().Select(d => d.GetInt64()).ToArray())).ToList();
        using var slab = CpuSlab.Allocate(SlabLayout.Create(specs));
        var plan = new List<TrainableTensor>();
        long stateBase = 0;
        foreach (var (t, slot) in tensors.Zip(slab.Layout.Slots))
        {
            Assert.That(slot.CounterBase, Is.EqualTo(t.GetProperty("counter_base").GetInt64()), $"{slot.Spec.Name}: counter base");
            WriteBits(slab, slot, t.GetProperty("initial_bits"));
            bool magnitude = t.GetProperty("mask").GetString() == "magnitude";
            float threshold = 0f;
            if (magnitude)
            {
                threshold = BitConverter.UInt32BitsToSingle(Hex32(t.GetProperty("threshold_bits").GetString()!));
                float ours = MagnitudeThreshold.Compute(slab.ReadFloat32(slot.Index), s.GetProperty("sparsity").GetDouble());
                Assert.That(BitConverter.SingleToUInt32Bits(ours), Is.EqualTo(BitConverter.SingleToUInt32Bits(threshold)), $"{slot.Spec.Name}: Sparse-MeZO threshold");
            }
            plan.Add(new TrainableTensor
            {
                Slot = slot, Mask = magnitude ? MaskKind.Magnitude : MaskKind.Dense, Threshold = threshold,
                Decay = t.GetProperty("decay").GetBoolean(), StateBase = stateBase, Group = "all",
            });
            stateBase = SlabLayout.AlignUp(stateBase + slot.ElementCount, 64);
        }
        var settings = new ZoSettings
        {
            MasterSeed = Hex64(s.GetProperty("master_seed")),
            Epsilon = BitConverter.UInt32BitsToSingle(Hex32(s.GetProperty("epsilon_bits").GetString()!)),
            WeightDecay = BitConverter.UInt32BitsToSingle(Hex32(s.GetProperty("weight_decay_bits").GetString()!)),
            Rule = UpdateRule.Sgd,
        };
        float lr = BitConverter.UInt32BitsToSingle(Hex32(s.GetProperty("learning_rate_bits").GetString()!));
        var losses = new GivenLosses(s.GetProperty("losses").EnumerateArray().Select(p => p.EnumerateArray().Select(x => x.GetDouble()).ToArray()).ToArray());
        using var engine = TrainingEngine.Create(new CpuWeightBackend(slab, 2, kernels == "reference" ? CpuKernels.Reference : CpuKernels.Simd),
            plan, 0, settings, [plan.Select(p => p.Slot.Index).ToArray()]);
        var after = s.GetProperty("after_steps").EnumerateArray().ToList();
        for (int step = 0; step < after.Count; step++)
        {
            engine.Step.Run(step, lr, losses);
            if (!settleEachStep && step < after.Count - 1) continue;
            engine.Settle();
            var expected = after[step];
            Assert.That(expected.GetProperty("step").GetInt32(), Is.EqualTo(step + 1));
            foreach (var slot in slab.Layout.Slots)
                Assert.That(ReadBits(slab, slot), Is.EqualTo(expected.GetProperty("tensors").GetProperty(slot.Spec.Name).EnumerateArray().Select(b => b.GetString()!).ToArray()),
                    $"{slot.Spec.Name} after step {step + 1}");
        }
    }

    private static void WriteBits(CpuSlab slab, SlabSlot slot, JsonElement bits)
    {
        var values = bits.EnumerateArray().Select(b => b.GetString()!).ToArray();
        Assert.That(values, Has.Length.EqualTo(slot.ElementCount));
        var bytes = slab.Bytes(slot.Index);
        int size = slot.DType.SizeInBytes();
        for (int i = 0; i < values.Length; i++)
        {
            uint v = Hex32(values[i]);
            for (int b = 0; b < size; b++) bytes[i * size + b] = (byte)(v >> (8 * b));
        }
    }

    private static string[] ReadBits(CpuSlab slab, SlabSlot slot)
    {
        var bytes = slab.Bytes(slot.Index).ToArray();
        int size = slot.DType.SizeInBytes();
        return Enumerable.Range(0, (int)slot.ElementCount).Select(i =>
        {
            uint v = 0;
            for (int b = 0; b < size; b++) v |= (uint)bytes[i * size + b] << (8 * b);
            return v.ToString(size == 4 ? "x8" : "x4", CultureInfo.InvariantCulture);
        }).ToArray();
    }

    private sealed class GivenLosses(double[][] losses) : IStepLosses
    {
        public double Loss(long step, int probe) => losses[step][probe];
    }
}
