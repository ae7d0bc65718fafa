using NUnit.Framework;
using OrtZo.Tools;
using OrtZo.WeightStore;

namespace OrtZo.Tests.Zo;

public class DriftTests
{
    [TestCase("f32")]
    [TestCase("f16")]
    [TestCase("bf16")]
    public void PerturbRestoreDriftsLessThanMezosLoop(string dtypeName)
    {
        var dtype = TestDTypes.Parse(dtypeName);
        // 1,000 steps with lr = 0 on 20k LLM-like weights, ε = 1e-3 (MeZO's default).
        var w = DriftMeasurement.TypicalWeights(20_000, 5);
        var ours = DriftMeasurement.OrtZo(dtype, w, 1000, 1e-3f);
        var mezo = DriftMeasurement.MezoLoop(dtype, w, 1000, 1e-3f);
        TestContext.Out.WriteLine($"{dtype}: OrtZo changed {ours.ChangedFraction:P2}, mean {ours.MeanUlps:F3} ulp, max {ours.MaxUlps}; " +
                                  $"MeZO loop changed {mezo.ChangedFraction:P2}, mean {mezo.MeanUlps:F3} ulp, max {mezo.MaxUlps}");
        Assert.That(ours.MeanUlps, Is.LessThan(mezo.MeanUlps), "mean drift below MeZO's loop");
        Assert.That(ours.ChangedFraction, Is.LessThan(0.75 * mezo.ChangedFraction), "fewer weights disturbed than MeZO's loop");
    }

    [Test]
    public void OrdinalCountsGridSteps()
    {
        Assert.That(DriftMeasurement.Ordinal(MathF.BitIncrement(1f), DType.F32) - DriftMeasurement.Ordinal(1f, DType.F32), Is.EqualTo(1));
        Assert.That(DriftMeasurement.Ordinal(-0f, DType.F32), Is.EqualTo(DriftMeasurement.Ordinal(0f, DType.F32)));
        Assert.That(DriftMeasurement.Ordinal(float.Epsilon, DType.F32) - DriftMeasurement.Ordinal(-float.Epsilon, DType.F32), Is.EqualTo(2));
        Assert.That(DriftMeasurement.Ordinal((float)BitConverter.UInt16BitsToHalf(0x3C01), DType.F16) - DriftMeasurement.Ordinal(1f, DType.F16), Is.EqualTo(1));
    }
}
