using System.Diagnostics;
using System.Text.Json.Nodes;
using OrtZo.Engine;
using OrtZo.Engine.Reference;

namespace OrtZo.Bench;

/// <summary>
/// Weight-pass bandwidth of the SIMD runner over the engine's case table (the cases the kernels are checked on),
/// each case scaled up to a few megabytes: bytes moved per pass (each trainable weight read and written, optimizer
/// state read and written, mask bits) over the pass's time.
/// </summary>
internal static class PassBench
{
    public static IEnumerable<JsonObject> Measure(Options o)
    {
        int threads = Environment.ProcessorCount;
        foreach (var c in PassCases.All.Where(c => !c.Name.Contains(" q3") && !c.Name.Contains(" sr")).Select(c => c.Scaled(64)))
        {
            using var built = c.Build();
            using var runner = new CpuPassRunner(built.Buffers, threads);
            var passes = c.Passes(c.TrainableSlots());
            foreach (var p in passes) runner.Run(p);   // warm up, and the masks the later passes read
            var b = built.Buffers;
            long weightBytes = b.Trainable.Sum(t => t.Slot.Spec.ByteLength);
            long stateBytes = (b.State1?.ByteLength ?? 0) + (b.State2?.ByteLength ?? 0);
            long maskBytes = b.MaskBits?.ByteLength ?? 0;
            double best = double.MaxValue;
            for (int round = 0; round < 5; round++)
            {
                var clock = Stopwatch.StartNew();
                foreach (var p in passes) runner.Run(p);
                best = Math.Min(best, clock.Elapsed.TotalSeconds / passes.Count);
            }
            // an average pass: weights twice; state twice where a pass updates (counted on every pass: an upper bound)
            double bytes = 2.0 * weightBytes + maskBytes + 2.0 * stateBytes * passes.Count(p => p.Any(s => s.Update is not null)) / passes.Count;
            var r = new JsonObject
            {
                ["case"] = c.Name,
                ["elements"] = b.TrainableElementCount,
                ["threads"] = threads,
                ["pass_ms"] = best * 1e3,
                ["gb_per_s"] = bytes / best / 1e9,
            };
            yield return r;
        }
    }
}
