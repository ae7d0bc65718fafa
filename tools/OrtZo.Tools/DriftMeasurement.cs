using OrtZo.WeightStore;
using OrtZo.Engine;

namespace OrtZo.Tools;

/// <summary>Distance between an original tensor and its value after many perturb/restore cycles.</summary>
internal sealed record DriftReport(DType DType, int Steps, long Elements, long Changed, double MeanUlps, double RmsUlps, long MaxUlps)
{
    public double ChangedFraction => (double)Changed / Elements;
}

/// <summary>
/// Measures how far weights wander when a run takes steps with learning rate 0, so every step should leave
/// them unchanged: OrtZo's canonical step (offset fl(ε·z) fixed, f32 arithmetic, one rounding to the storage
/// type per written value) against MeZO's loop (z drawn in the weight dtype, +1, −2, +1 perturbations each
/// computed and rounded in that dtype, as torch does for fp16/bf16 tensors).
/// </summary>
internal static class DriftMeasurement
{
    /// <summary>LLM-like weights: mostly N(0, 0.02) matrices, a quarter norm scales near 1, some zero biases.</summary>
    public static float[] TypicalWeights(int n, int seed)
    {
        var rnd = new Random(seed);
        var v = new float[n];
        for (int i = 0; i < n; i++)
        {
            double g = Math.Sqrt(-2 * Math.Log(1 - rnd.NextDouble())) * Math.Cos(2 * Math.PI * rnd.NextDouble());
            v[i] = (i % 8) switch
            {
                0 or 1 => (float)(1 + 0.05 * g),   // norm scales
                2 => i % 64 == 2 ? 0f : (float)(0.02 * g),
                _ => (float)(0.02 * g),
            };
        }
        return v;
    }

    public static DriftReport OrtZo(DType dtype, float[] initial, int steps, float epsilon, int threads = 2)
    {
        var slab = CpuSlab.Allocate(SlabLayout.Create([new TensorSpec("w", dtype, [initial.Length])]));
        slab.WriteFloat32(0, initial);
        var original = slab.ReadFloat32(0);
        using var backend = new CpuWeightBackend(slab, threads);
        var tensor = new TrainableTensor { Slot = slab.Layout.Slots[0], Mask = MaskKind.Dense, Group = "all" };
        using var engine = TrainingEngine.Create(backend, [tensor], 0, new ZoSettings { MasterSeed = 1, Epsilon = epsilon }, [[0]]);
        var losses = new ConstantLosses();
        for (int t = 0; t < steps; t++) engine.Step.Run(t, 0f, losses);
        engine.Settle();
        return Compare(dtype, steps, original, slab.ReadFloat32(0));
    }

    /// <summary>MeZO's large_models loop with lr = 0: per step, param += s·z·ε for s = +1, −2, +1 in the param dtype.</summary>
    public static DriftReport MezoLoop(DType dtype, float[] initial, int steps, float epsilon)
    {
        var w = initial.Select(v => Round(v, dtype)).ToArray();
        var original = (float[])w.Clone();
        float eps = epsilon;
        for (int t = 0; t < steps; t++)
        {
            ulong seed = ZoNoise.StepSeed(1, t, 0);
            foreach (float s in new[] { 1f, -2f, 1f })
                for (int i = 0; i < w.Length; i++)
                {
                    float z = Round(ZoNoise.Normal(seed, i), dtype);       // torch.normal(..., dtype=param.dtype)
                    float scaled = Round(Round(s * z, dtype) * eps, dtype); // scaling_factor * z * zo_eps, op by op
                    w[i] = Round(w[i] + scaled, dtype);                      // param.data + ...
                }
        }
        return Compare(dtype, steps, original, w);
    }

    private static DriftReport Compare(DType dtype, int steps, float[] before, float[] after)
    {
        long changed = 0, max = 0;
        double sum = 0, sumSq = 0;
        for (int i = 0; i < before.Length; i++)
        {
            long d = Math.Abs(Ordinal(after[i], dtype) - Ordinal(before[i], dtype));
            if (d != 0) changed++;
            max = Math.Max(max, d);
            sum += d;
            sumSq += (double)d * d;
        }
        return new DriftReport(dtype, steps, before.Length, changed, sum / before.Length, Math.Sqrt(sumSq / before.Length), max);
    }

    /// <summary>Position of a value on its dtype's grid, so that neighbours differ by 1 (±0 coincide).</summary>
    internal static long Ordinal(float v, DType dtype)
    {
        long bits; int width;
        switch (dtype)
        {
            case DType.F32: bits = BitConverter.SingleToUInt32Bits(v); width = 32; break;
            case DType.F16: bits = BitConverter.HalfToUInt16Bits((Half)v); width = 16; break;
            case DType.BF16: bits = FloatConversions.Float32ToBf16(v); width = 16; break;
            default: throw new NotSupportedException(dtype.ToString());
        }
        long sign = 1L << (width - 1);
        return (bits & sign) != 0 ? -(bits & (sign - 1)) : bits;
    }

    private static float Round(float v, DType dtype) => dtype switch
    {
        DType.F32 => v,
        DType.F16 => (float)(Half)v,
        DType.BF16 => FloatConversions.Bf16ToFloat32(FloatConversions.Float32ToBf16(v)),
        _ => throw new NotSupportedException(dtype.ToString()),
    };

    private sealed class ConstantLosses : IStepLosses
    {
        public double Loss(long step, int probe) => 1.0;
    }
}
