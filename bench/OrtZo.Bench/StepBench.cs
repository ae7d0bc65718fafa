using System.Diagnostics;
using System.Text.Json.Nodes;
using OrtZo.Training;
using OrtZo.Engine;
using OrtZo.Runtime;

namespace OrtZo.Bench;

/// <summary>ZO step time against two forwards, and the bandwidth of one weight pass, for MeZO and Sparse-MeZO.</summary>
internal static class StepBench
{
    public static JsonObject Measure(Options o)
    {
        long? deviceBytesBefore = DeviceBytesInUse(o.Device);
        using var model = ZoModel.Open(o.Model, o.Device);
        int rows = o.Batch, seq = Math.Min(o.Seq, model.MaxLength);
        var batch = new RandomBatch(model, rows, seq, model.Folder.Manifest.VocabSize);
        var options = new ZoOptions
        {
            Optimizer = o.Optimizer == "sparse-mezo" ? ZoOptimizer.SparseMeZO : ZoOptimizer.MeZO,
            LearningRate = 1e-6,
            Epsilon = 1e-3,
            Sparsity = 0.8,
        };
        var weights = model.ReadWeights();
        var groups = model.Folder.CreateGroups(weights.Layout);
        var engine = model.Engine.Weights.BeginTraining(TrainingPlan.Tensors(model.Folder.Manifest, weights, options), TrainingPlan.StateBuffers(options),
            TrainingPlan.Settings(options), groups.Names.Select(groups.SlotsOf).ToList());
        var (step, runner, buffers) = (engine.Step, engine.Runner, engine.Buffers);

        double forward = ForwardBench.Time(batch.Forward);
        long t = 0;
        var timed = new TimedProbe(batch);
        double stepMs = ForwardBench.Time(() => step.Run(t++, 1e-6f, timed));
        double forwardInStep = timed.Milliseconds / timed.Calls;
        step.Settle();

        // one pass A over every trainable weight: read and write each weight once (plus the mask bits)
        var slots = buffers.Trainable.Select(x => x.Slot.Index).ToArray();
        var p = new Perturbation(1, 1e-3f, 0);
        runner.Run([new PassSegment { Slots = slots, Apply = p, RecomputeMask = true }]);
        // a device pass only enqueues: each timed pass ends when the device has finished it
        double passMs = ForwardBench.Time(() =>
        {
            runner.Run([new PassSegment { Slots = slots, Remove = p, Apply = p }]);
            runner.Synchronize();
        }, 5, 1);
        long? deviceBytes = DeviceBytesInUse(o.Device) - deviceBytesBefore;
        long weightBytes = buffers.Trainable.Sum(x => x.Slot.Spec.ByteLength);
        long maskBytes = buffers.MaskBits?.ByteLength ?? 0;
        double gbPerS = (2.0 * weightBytes + maskBytes) / (passMs / 1000) / 1e9;
        return new JsonObject
        {
            ["model"] = Path.GetFileName(o.Model),
            ["device"] = o.Device.ToString(),
            ["params"] = model.ParameterCount,
            ["optimizer"] = o.Optimizer,
            ["batch"] = rows,
            ["seq"] = seq,
            ["forward_ms"] = forward,
            ["step_ms"] = stepMs,
            ["step_over_2fwd"] = stepMs / (2 * forward),
            ["forward_in_step_ms"] = forwardInStep,
            ["pass_ms"] = passMs,
            ["pass_gb_per_s"] = gbPerS,
            ["extra_memory_bytes"] = buffers.ExtraBytes,
            ["peak_rss_mb"] = Process.GetCurrentProcess().PeakWorkingSet64 / 1048576.0,
            // device memory the model, its session (ORT's arena never shrinks, so this is its peak) and the state hold
            ["device_memory_mb"] = deviceBytes is { } d ? d / 1048576.0 : null,
        };
    }

    /// <summary>Bytes in use on a CUDA device (total − free), or null on the CPU.</summary>
    private static long? DeviceBytesInUse(ZoDevice device)
    {
        if (device.Kind != DeviceKind.Cuda) return null;   // BenchMain has checked the device is there
        using var context = OrtZo.Cuda.CudaContext.Open(device.Index);
        var (free, total) = context.MemoryInfo();
        return (long)total - (long)free;
    }
}

/// <summary>Times the forwards a step makes, to split a step into forwards, passes and the rest.</summary>
internal sealed class TimedProbe(IStepLosses inner) : IStepLosses
{
    public double Milliseconds { get; private set; }
    public int Calls { get; private set; }

    public double Loss(long step, int probe)
    {
        long start = Stopwatch.GetTimestamp();
        double loss = inner.Loss(step, probe);
        Milliseconds += Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        Calls++;
        return loss;
    }
}
