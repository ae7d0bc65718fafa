using NUnit.Framework;
using OrtZo.WeightStore;
using OrtZo.Engine;

namespace OrtZo.Tests.Zo;

/// <summary>
/// Each optimizer rule, run by the engine's kernels on a small tensor for a fixed sequence of estimates ĝ,
/// against a float64 implementation of the textbook rule (torch's formulation for momentum and Adam).
/// </summary>
public class OptimizerReferenceTests
{
    private const int N = 257;
    private const int Steps = 12;

    private static readonly float[] Coefficients = Enumerable.Range(0, Steps).Select(i => (float)Math.Sin(1.7 * i + 0.3) * 2).ToArray();

    public static IEnumerable<TestCaseData> Rules() => new[]
    {
        new TestCaseData("sgd"), new TestCaseData("sgd-decay"), new TestCaseData("sign"), new TestCaseData("momentum"), new TestCaseData("adam"),
    };

    [TestCaseSource(nameof(Rules))]
    public unsafe void EngineUpdateMatchesFloat64Reference(string name)
    {
        var rule = name switch { "sign" => UpdateRule.Sign, "momentum" => UpdateRule.Momentum, "adam" => UpdateRule.Adam, _ => UpdateRule.Sgd };
        float lr = rule == UpdateRule.Adam ? 1e-2f : 1e-3f, wd = name == "sgd-decay" ? 0.1f : 0f;
        const float beta1 = 0.9f, beta2 = 0.999f, adamEps = 1e-8f;
        var slab = CpuSlab.Allocate(SlabLayout.Create([new TensorSpec("w", DType.F32, [N])]));
        using var _ = slab;
        var rnd = new Random(5);
        var w0 = Enumerable.Range(0, N).Select(_ => (float)(EngineFixtures.Gaussian(rnd) * 0.1)).ToArray();
        slab.WriteFloat32(0, w0);
        int states = rule switch { UpdateRule.Momentum => 1, UpdateRule.Adam => 2, _ => 0 };
        using var buffers = new WeightBuffers(slab, [new TrainableTensor { Slot = slab.Layout.Slots[0], Mask = MaskKind.Dense, Decay = true, Group = "g" }], states);
        using var runner = new CpuPassRunner(buffers, 2);

        var theta = w0.Select(v => (double)v).ToArray();
        var m = new double[N];
        var v2 = new double[N];
        for (int t = 1; t <= Steps; t++)
        {
            ulong seed = (ulong)(1000 + t);
            double bias1 = 1 - Math.Pow(beta1, t), bias2 = 1 - Math.Pow(beta2, t);
            runner.Run([new PassSegment
            {
                Slots = [0],
                Update = new UpdateSpec
                {
                    Rule = rule, Directions = [new Direction(seed, Coefficients[t - 1])], LearningRate = lr, WeightDecay = wd,
                    Beta1 = beta1, Beta2 = beta2, AdamEpsilon = adamEps, AdamStepSize = (float)(lr / bias1), AdamBias2Sqrt = (float)Math.Sqrt(bias2),
                },
            }]);
            for (int i = 0; i < N; i++)
            {
                double g = (double)Coefficients[t - 1] * ZoNoise.Normal(seed, i) + wd * theta[i];
                switch (rule)
                {
                    case UpdateRule.Sgd: theta[i] -= lr * g; break;
                    case UpdateRule.Sign: theta[i] -= lr * Math.Sign(g); break;
                    case UpdateRule.Momentum:
                        m[i] = beta1 * m[i] + g;
                        theta[i] -= lr * m[i];
                        break;
                    case UpdateRule.Adam:
                        m[i] = beta1 * m[i] + (1 - beta1) * g;
                        v2[i] = beta2 * v2[i] + (1 - beta2) * g * g;
                        theta[i] -= lr / bias1 * m[i] / (Math.Sqrt(v2[i]) / Math.Sqrt(bias2) + adamEps);
                        break;
                }
            }
        }
        var got = slab.ReadFloat32(0);
        double maxRel = 0;
        for (int i = 0; i < N; i++)
        {
            double scale = Math.Max(Math.Abs(theta[i] - w0[i]), 1e-3);   // relative to the distance moved
            maxRel = Math.Max(maxRel, Math.Abs(got[i] - theta[i]) / scale);
        }
        TestContext.Out.WriteLine($"{name}: max |float32 engine − float64 reference| / distance moved = {maxRel:E2} after {Steps} steps");
        // float32 accumulation of 12 updates: a few ulps of θ (~1e-8 absolute) relative to ≥1e-3 of movement
        Assert.That(maxRel, Is.LessThan(1e-3));
        if (rule == UpdateRule.Momentum || rule == UpdateRule.Adam)
        {
            var state = new ReadOnlySpan<float>(buffers.State1Pointer, N);
            for (int i = 0; i < N; i++) Assert.That(state[i], Is.EqualTo(m[i]).Within(1e-4 * Math.Max(1, Math.Abs(m[i]))));
        }
    }
}
