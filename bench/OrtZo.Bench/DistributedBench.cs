using OrtZo.Engine;
using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using OrtZo.Distributed.Coordinator;
using OrtZo.Distributed.Hosting;
using OrtZo.Distributed.Protocol;
using OrtZo.Training;

namespace OrtZo.Bench;

/// <summary>
/// Figures of distributed runs on one machine: coordination overhead and bytes on the wire per step against
/// workers and micro-batches (in-process Orleans clusters: messages serialized as over a network), and catch-up
/// replay speed. Recovery times need real processes and real failure detection: MultiProcessRecoveryBench.
/// </summary>
internal static class DistributedBench
{
    private const int WarmSteps = 5;

    // ORTZO_BENCH_DIST="N,S" measures one configuration (to look into one figure)
    private static readonly string[]? Only = Environment.GetEnvironmentVariable("ORTZO_BENCH_DIST")?.Split(',');
    private static int[] WorkerCounts => Only is null ? [1, 2, 3] : [int.Parse(Only[0])];
    private static int[] MicroBatchCounts => Only is null ? [1, 3, 6] : [int.Parse(Only[1])];

    public static int Run(Options o)
    {
        string root = Options.FindRoot();
        var result = new JsonObject
        {
            ["benchmark"] = "distributed",
            ["machine"] = $"{Environment.ProcessorCount} cores, {System.Runtime.InteropServices.RuntimeInformation.OSDescription}",
            ["command"] = "dotnet run -c Release --project bench/OrtZo.Bench -- dist",
            ["overhead"] = new JsonArray(Overheads(root).ToArray()),
            ["replay"] = Only is null ? new JsonArray(Replays(root).ToArray()) : null,
        };
        if (Only is not null) return 0;
        Directory.CreateDirectory(o.OutFolder);
        File.WriteAllText(Path.Combine(o.OutFolder, "cpu-distributed.json"), result.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
        return 0;
    }

    private static ZoOptions RunOptions(int microBatches, long steps) => new()
    {
        LearningRate = 5e-4, BatchSize = 6, MicroBatches = microBatches, Seed = 7, TotalSteps = steps,
    };

    private static RunSpec Spec(string root, ZoOptions options, string runDirectory, int leaseMs = 2000) =>
        RunSpecs.Create(BenchCluster.RunId, Path.Combine(root, "models", "stories260k"), Path.Combine(root, "data", "story-feelings", "train.jsonl"),
            "jsonl", options, runDirectory, trainExamples: 48, leaseMilliseconds: leaseMs, digestEvery: 10, checkpointEvery: 0);

    private static IEnumerable<JsonNode?> Overheads(string root)
    {
        const int steps = 40;
        foreach (int s in MicroBatchCounts)
        {
            double single = SingleProcessMsPerStep(root, RunOptions(s, steps));
            foreach (int workers in WorkerCounts)
            {
                var r = Overhead(root, workers, s, steps).GetAwaiter().GetResult();
                r["single_process_ms_per_step"] = single;
                r["overhead_ms_per_step"] = (double)r["ms_per_step"]! - single;
                Console.WriteLine($"overhead  N={workers} S={s}: {(double)r["ms_per_step"]!:F1} ms/step distributed vs {single:F1} single-process; " +
                                  $"{(double)r["wire_bytes_per_step"]!:F0} B and {(double)r["messages_per_step"]!:F1} messages on the wire per step");
                yield return r;
            }
        }
    }

    // Best of three, as the distributed figure is one run on an otherwise idle machine.
    private static double SingleProcessMsPerStep(string root, ZoOptions options) =>
        Enumerable.Range(0, 3).Min(_ => SingleProcessRun(root, options));

    private static double SingleProcessRun(string root, ZoOptions options)
    {
        using var model = ZoModel.Open(Path.Combine(root, "models", "stories260k"), threads: 1);
        using var trainer = new ZoTrainer(model, TaskData.Load(Path.Combine(root, "data", "story-feelings", "train.jsonl"), "jsonl").Take(48), options);
        for (int i = 0; i < WarmSteps; i++) trainer.Step();
        var clock = Stopwatch.StartNew();
        while (trainer.StepIndex < options.TotalSteps) trainer.Step();
        return clock.Elapsed.TotalMilliseconds / (options.TotalSteps - WarmSteps);
    }

    private static async Task<JsonObject> Overhead(string root, int workers, int s, int steps)
    {
        string dir = Directory.CreateTempSubdirectory("ortzo-bench-dist-").FullName;
        try
        {
            await using var cluster = new BenchCluster(workers, FailureDetection.Fast);
            (long Bytes, long Messages) first = default, last = default;
            cluster.Journal.Appended = e =>
            {
                if (e.Kind == RunEventKind.StepCommitted && e.Step == WarmSteps - 1) first = (cluster.SentBytes, cluster.SentMessages);
                if (e.Kind == RunEventKind.StepCommitted && e.Step == steps - 1) last = (cluster.SentBytes, cluster.SentMessages);
                return Task.CompletedTask;
            };
            await cluster.StartRun(Spec(root, RunOptions(s, steps), dir));
            await cluster.AwaitFinished(workers, TimeSpan.FromMinutes(5));
            int measured = steps - WarmSteps;
            double seconds = cluster.Journal.CommitTime(steps - 1) - cluster.Journal.CommitTime(WarmSteps - 1);
            return new JsonObject
            {
                ["workers"] = workers,
                ["micro_batches"] = s,
                ["steps_measured"] = measured,
                ["ms_per_step"] = seconds * 1000 / measured,
                ["wire_bytes_per_step"] = (double)(last.Bytes - first.Bytes) / measured,
                ["messages_per_step"] = (double)(last.Messages - first.Messages) / measured,
            };
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    // Catch-up replay: the whole canonical step per logged step, no forward. The losses' values do not
    // change the cost, so a synthetic log stands in for a recorded one.
    private static IEnumerable<JsonNode?> Replays(string root)
    {
        foreach (var (model, steps) in new[] { (Path.Combine(root, "models", "stories260k"), 400), (BenchModels.Medium(root), 40) })
        {
            var options = new ZoOptions { LearningRate = 1e-4, BatchSize = 4, Seed = 3, TotalSteps = steps };
            using var zo = ZoModel.Open(model, threads: 2);
            using var trainer = new ZoTrainer(zo, TaskData.Load(Path.Combine(root, "data", "story-feelings", "train.jsonl"), "jsonl").Take(16), options);
            var log = new SyntheticLog();
            trainer.Step(log);
            long passesBefore = trainer.WeightPassCount;
            var clock = Stopwatch.StartNew();
            while (trainer.StepIndex < steps) trainer.Step(log);
            trainer.WeightsDigest();   // settles the last held-back pass
            double seconds = clock.Elapsed.TotalSeconds;
            long passes = trainer.WeightPassCount - passesBefore;
            double bytes = passes * 2.0 * zo.ReadWeights().ByteLength;   // each pass reads and writes every weight
            var r = new JsonObject
            {
                ["model"] = Path.GetFileName(model),
                ["parameters"] = zo.ParameterCount,
                ["steps"] = steps - 1,
                ["steps_per_s"] = (steps - 1) / seconds,
                ["passes_per_step"] = (double)passes / (steps - 1),
                ["weight_pass_gb_per_s"] = bytes / seconds / 1e9,
            };
            Console.WriteLine($"replay    {r["model"]}: {(double)r["steps_per_s"]!:F0} steps/s, {(double)r["weight_pass_gb_per_s"]!:F2} GB/s of weight passes");
            yield return r;
        }
    }

    private sealed class SyntheticLog : IStepLosses
    {
        public double Loss(long step, int probe) => probe == 0 ? 1.0 + 1e-4 * Math.Sin(step) : 1.0;
    }
}
