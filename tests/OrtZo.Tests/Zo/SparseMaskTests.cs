using NUnit.Framework;
using OrtZo.WeightStore;
using OrtZo.Engine;

namespace OrtZo.Tests.Zo;

/// <summary>Sparse-MeZO's mask: judged once per step on the unperturbed weights and kept for every pass of the step.</summary>
public class SparseMaskTests
{
    private const float Eps = 1e-2f;

    [Test]
    public unsafe void MaskIsJudgedOnUnperturbedWeightsAndNeverFlipsWithinAStep()
    {
        // Half the weights sit within ε·|z| of the threshold, so judging the mask on perturbed weights would flip many.
        const int n = 5000;
        var slab = CpuSlab.Allocate(SlabLayout.Create([new TensorSpec("w", DType.F32, [n])]));
        using var _ = slab;
        var rnd = new Random(4);
        const float h = 0.05f;
        var theta = new float[n];
        for (int i = 0; i < n; i++)
            theta[i] = i % 2 == 0 ? (float)((rnd.NextDouble() * 2 - 1) * 0.2) : (i % 3 == 0 ? h : MathF.BitDecrement(h)) + (float)((rnd.NextDouble() * 2 - 1) * Eps) * (i % 5 == 0 ? 0f : 1f);
        theta[1] = h;
        theta[3] = -h;
        slab.WriteFloat32(0, theta);
        var tensor = new TrainableTensor { Slot = slab.Layout.Slots[0], Mask = MaskKind.Magnitude, Threshold = h, Group = "g" };
        using var buffers = new WeightBuffers(slab, [tensor], 0);
        using var runner = new CpuPassRunner(buffers, 2);
        int[] slots = [0];
        var p = new Perturbation(123, Eps, 0);

        bool[] expected = theta.Select(v => MathF.Abs(v) <= h).ToArray();
        runner.Run([new PassSegment { Slots = slots, Apply = p, RecomputeMask = true }]);
        var plus = slab.ReadFloat32(0);
        bool[] bits = Enumerable.Range(0, n).Select(i => (buffers.MaskWords[i >> 6] >> (i & 63) & 1) != 0).ToArray();
        Assert.That(bits, Is.EqualTo(expected), "mask bits = |θ| ≤ h on the unperturbed weights");
        Assert.That(expected[1] && expected[3], Is.True, "weights exactly at ±threshold move");

        int wouldFlip = Enumerable.Range(0, n).Count(i => expected[i] != (MathF.Abs(plus[i]) <= h));
        TestContext.Out.WriteLine($"{wouldFlip} of {n} masks would flip if judged on θ+εz");
        Assert.That(wouldFlip, Is.GreaterThan(100), "the fixture must put weights where a naive mask flips");

        runner.Run([new PassSegment { Slots = slots, Remove = p, Apply = p.Negated }]);
        var minus = slab.ReadFloat32(0);
        runner.Run([new PassSegment { Slots = slots, Remove = p.Negated }]);
        var restored = slab.ReadFloat32(0);
        for (int i = 0; i < n; i++)
        {
            float z = ZoNoise.Normal(123, i), offset = Eps * z;
            if (!expected[i])
            {
                Assert.That(BitConverter.SingleToInt32Bits(plus[i]), Is.EqualTo(BitConverter.SingleToInt32Bits(theta[i])), $"masked-out {i} moved at +ε");
                Assert.That(BitConverter.SingleToInt32Bits(minus[i]), Is.EqualTo(BitConverter.SingleToInt32Bits(theta[i])), $"masked-out {i} moved at −ε");
                Assert.That(BitConverter.SingleToInt32Bits(restored[i]), Is.EqualTo(BitConverter.SingleToInt32Bits(theta[i])), $"masked-out {i} changed");
            }
            else
            {
                // the element program of the specification, replayed in float
                float wPlus = theta[i] + offset;
                float wMinus = (wPlus - offset) - offset;
                Assert.That(plus[i], Is.EqualTo(wPlus), $"masked-in {i} at +ε");
                Assert.That(minus[i], Is.EqualTo(wMinus), $"masked-in {i} at −ε");
                Assert.That(restored[i], Is.EqualTo(wMinus + offset), $"masked-in {i} restored");
            }
        }
    }

    [Test]
    public unsafe void SparseEstimateIsTheMaskedGradient()
    {
        // Accumulate ĝ over many steps with lr = 0 and momentum β = 1 (state = Σ ĝ): on masked-out elements it is
        // exactly 0, on masked-in ones it converges to the gradient.
        const int n = 48;
        var slab = CpuSlab.Allocate(SlabLayout.Create([new TensorSpec("w", DType.F32, [n])]));
        using var _ = slab;
        var rnd = new Random(6);
        slab.WriteFloat32(0, Enumerable.Range(0, n).Select(_ => (float)(EngineFixtures.Gaussian(rnd) * 0.1)).ToArray());
        float h = MagnitudeThreshold.Compute(slab.ReadFloat32(0), 0.5);
        var tensor = new TrainableTensor { Slot = slab.Layout.Slots[0], Mask = MaskKind.Magnitude, Threshold = h, Group = "g" };
        var settings = new ZoSettings { MasterSeed = 8, Epsilon = 1e-3f, Rule = UpdateRule.Momentum, Beta1 = 1f };
        using var engine = TestEngines.Create(slab, [tensor], 1, settings);
        var (buffers, step) = (engine.Buffers, engine.Step);
        var probe = new QuadraticProbe(slab, 2);
        var grad = probe.Gradient(0);
        var w0 = slab.ReadFloat32(0);
        const int samples = 4000;
        for (int t = 0; t < samples; t++) step.Run(t, 0f, probe);
        engine.Settle();
        var sum = new ReadOnlySpan<float>(buffers.State1Pointer, n).ToArray();
        var masked = w0.Select(v => MathF.Abs(v) <= h).ToArray();
        Assert.That(masked.Count(m => m), Is.EqualTo(n / 2));
        double dot = 0, na = 0, nb = 0;
        for (int i = 0; i < n; i++)
        {
            if (!masked[i])
            {
                Assert.That(sum[i], Is.EqualTo(0f), $"element {i} is masked out but received an estimate");
                continue;
            }
            double est = sum[i] / samples;
            dot += est * grad[i];
            na += est * est;
            nb += grad[i] * grad[i];
        }
        double cosine = dot / Math.Sqrt(na * nb);
        TestContext.Out.WriteLine($"cosine(mean sparse ZO estimate, masked gradient) = {cosine:F4} over {samples} samples, {n / 2} masked-in coordinates");
        Assert.That(cosine, Is.GreaterThan(0.95));
    }
}
