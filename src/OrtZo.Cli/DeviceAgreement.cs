using OrtZo.Engine;

namespace OrtZo.Cli;

/// <summary>
/// Whole runs on a CUDA device against the same runs on the CPU, for the device check: (1) replay — the same losses
/// fed to both (no forward decides anything), so every weight operation must give identical bits: equal weights
/// digests after every step count; (2) tracking — real runs, the losses coming from each device's own forwards, whose
/// curves must stay within a stated tolerance (ORT's CPU and CUDA kernels round differently, so the estimates differ
/// slightly and the runs drift apart slowly).
/// </summary>
internal static class DeviceAgreement
{
    /// <summary>Largest |L_cpu − L_cuda| allowed at any step of a 50-step tracking run (losses are ≈ 0.7 on the demo task).</summary>
    public const double TrackingTolerance = 2e-3;

    public static IEnumerable<GpuCheckResult> Run(string modelFolder, string trainData, ZoDevice device)
    {
        var train = TaskData.Load(trainData, "jsonl");
        foreach (var optimizer in new[] { ZoOptimizer.MeZO, ZoOptimizer.SparseMeZO, ZoOptimizer.ZoAdam })
        {
            var options = new ZoOptions { Optimizer = optimizer, LearningRate = optimizer == ZoOptimizer.ZoAdam ? 1e-3 : 3e-4, BatchSize = 8, Seed = 11, TotalSteps = 20 };
            string cpu = ReplayDigest(modelFolder, train, options, ZoDevice.Cpu);
            string cuda = ReplayDigest(modelFolder, train, options, device);
            yield return new GpuCheckResult($"replay {optimizer}, 20 steps with given losses", cpu == cuda,
                cpu == cuda ? $"weights digest {cpu[..16]} on both" : $"cpu {cpu[..16]}, {device} {cuda[..16]}");
        }
        foreach (var optimizer in new[] { ZoOptimizer.MeZO, ZoOptimizer.SparseMeZO })
        {
            var options = new ZoOptions { Optimizer = optimizer, LearningRate = 3e-4, BatchSize = 16, Seed = 3, TotalSteps = 50 };
            var cpu = Curve(modelFolder, train, options, ZoDevice.Cpu);
            var cuda = Curve(modelFolder, train, options, device);
            double worst = cpu.Zip(cuda).Max(p => Math.Abs(p.First - p.Second));
            yield return new GpuCheckResult($"tracking {optimizer}, 50 steps on the task", worst <= TrackingTolerance,
                $"max |L_cpu − L_cuda| = {worst:E2} (tolerance {TrackingTolerance:E0}); first losses {cpu[0]:F6} / {cuda[0]:F6}, last {cpu[^1]:F6} / {cuda[^1]:F6}");
        }
    }

    private static string ReplayDigest(string folder, TaskData train, ZoOptions options, ZoDevice device)
    {
        using var model = ZoModel.Open(folder, device, threads: 2);
        using var trainer = new ZoTrainer(model, train, options);
        var losses = new GivenLosses();
        while (trainer.StepIndex < options.TotalSteps) trainer.Step(losses);
        return trainer.WeightsDigest();
    }

    private static double[] Curve(string folder, TaskData train, ZoOptions options, ZoDevice device)
    {
        using var model = ZoModel.Open(folder, device, threads: 2);
        using var trainer = new ZoTrainer(model, train, options);
        var curve = new double[options.TotalSteps];
        for (int i = 0; i < curve.Length; i++) curve[i] = trainer.Step().Loss;
        return curve;
    }

    /// <summary>Losses that depend on the step and probe point only: L+ and L− differ, so every step updates.</summary>
    private sealed class GivenLosses : IStepLosses
    {
        public double Loss(long step, int probe) => 0.7 + 0.01 * Math.Sin(step + 1.3 * probe);
    }
}
