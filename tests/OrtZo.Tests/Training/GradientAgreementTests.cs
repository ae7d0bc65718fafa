using NUnit.Framework;
using OrtZo.WeightStore;
using OrtZo.Engine;

namespace OrtZo.Tests.Training;

/// <summary>
/// On the shipped model and task, the mean of the engine's ZO estimates over many seeds converges to the true
/// gradient (central finite differences, losses accumulated in double) of the trained coordinates.
/// The estimates are read without touching the weights: lr = 0 and momentum β = 1 make the state Σ ĝ.
/// </summary>
public class GradientAgreementTests
{
    private static string DemoTask => Path.Combine(TestPaths.RepoRoot, "data", "story-feelings", "train.jsonl");

    private static unsafe (double[] Estimate, double[] FiniteDifference, bool[] Moves, List<(int N, double Cosine)> Curve) Measure(
        string tensorName, MaskKind mask, double sparsity, int samples)
    {
        using var model = ZoModel.Open(TestPaths.Stories260k, threads: 2);
        var data = TaskData.Load(DemoTask, "jsonl");
        var probe = new ModelProbe(model, data, [0, 1, 2, 3]);
        var weights = model.ReadWeights();   // the CPU backend's live memory: writes below are what the next forward sees
        int slot = weights.Layout.IndexOf(tensorName);
        var tensors = weights.Layout.Slots.Select(s => new TrainableTensor
        {
            Slot = s,
            Mask = s.Index == slot ? mask : MaskKind.Frozen,
            Threshold = s.Index == slot && mask == MaskKind.Magnitude ? MagnitudeThreshold.Compute(weights.ReadFloat32(s.Index), sparsity) : 0f,
            Group = "all",
        }).ToList();
        var w = weights.ReadFloat32(slot);
        int n = w.Length;

        // ground truth: central differences with h = 1e-3 on every coordinate that moves
        const float h = 1e-3f;
        var fd = new double[n];
        var threshold = tensors[slot].Threshold;
        for (int i = 0; i < n; i++)
        {
            if (mask == MaskKind.Magnitude && MathF.Abs(w[i]) > threshold) continue;
            var plus = (float[])w.Clone();
            plus[i] += h;
            weights.WriteFloat32(slot, plus);
            double lp = probe.Loss(0, 0);
            var minus = (float[])w.Clone();
            minus[i] -= h;
            weights.WriteFloat32(slot, minus);
            double lm = probe.Loss(0, 0);
            fd[i] = (lp - lm) / ((double)plus[i] - minus[i]);
        }
        weights.WriteFloat32(slot, w);

        var engine = model.Engine.Weights.BeginTraining(tensors, 1, new ZoSettings { MasterSeed = 3, Epsilon = 1e-3f, Rule = UpdateRule.Momentum, Beta1 = 1f }, [[slot]]);
        var (buffers, step) = (engine.Buffers, engine.Step);
        var moves = w.Select(v => mask != MaskKind.Magnitude || MathF.Abs(v) <= tensors[slot].Threshold).ToArray();
        var curve = new List<(int, double)>();
        var estimate = new double[n];
        for (int t = 0; t < samples; t++)
        {
            step.Run(t, 0f, probe);
            if ((t + 1) % (samples / 8) == 0)
            {
                engine.Settle();
                var sum = new ReadOnlySpan<float>(buffers.State1Pointer + tensors[slot].StateBase, n);
                for (int i = 0; i < n; i++) estimate[i] = sum[i] / (double)(t + 1);
                curve.Add((t + 1, Cosine(estimate, fd, moves)));
            }
        }
        engine.Settle();
        return (estimate, fd, moves, curve);
    }

    private static double Cosine(double[] a, double[] b, bool[] use)
    {
        double dot = 0, na = 0, nb = 0;
        for (int i = 0; i < a.Length; i++)
        {
            if (!use[i]) continue;
            dot += a[i] * b[i];
            na += a[i] * a[i];
            nb += b[i] * b[i];
        }
        return dot / Math.Sqrt(na * nb);
    }

    [Test]
    public void MezoEstimateConvergesToTheGradient()
    {
        var (_, _, _, curve) = Measure("model.norm.weight", MaskKind.Dense, 0, 1200);
        foreach (var (n, c) in curve) TestContext.Out.WriteLine($"MeZO, final norm (64 coordinates): {n,5} samples → cosine {c:F4}");
        Assert.That(curve[^1].Cosine, Is.GreaterThan(0.9));
        Assert.That(curve[^1].Cosine, Is.GreaterThan(curve[0].Cosine));
    }

    [Test]
    public void SparseMezoEstimateIsTheMaskedGradient()
    {
        var (estimate, _, moves, curve) = Measure("model.layers.4.self_attn.o_proj.weight", MaskKind.Magnitude, 0.99, 1200);
        foreach (var (n, c) in curve) TestContext.Out.WriteLine($"Sparse-MeZO, o_proj at sparsity 0.99 ({moves.Count(m => m)} of {moves.Length} move): {n,5} samples → cosine {c:F4}");
        for (int i = 0; i < estimate.Length; i++)
            if (!moves[i]) Assert.That(estimate[i], Is.EqualTo(0.0), $"masked-out coordinate {i} got an estimate");
        Assert.That(curve[^1].Cosine, Is.GreaterThan(0.85));
    }
}
