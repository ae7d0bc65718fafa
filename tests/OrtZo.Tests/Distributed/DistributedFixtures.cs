using OrtZo.Engine;
using OrtZo.Training;

namespace OrtZo.Tests.Distributed;

/// <summary>The small run the distributed tests share: stories260k on story-feelings, three micro-batches a step.</summary>
internal static class DistributedFixtures
{
    public static string TrainSplit => Path.Combine(TestPaths.RepoRoot, "data", "story-feelings", "train.jsonl");

    public const int TrainExamples = 48;

    public static ZoOptions Options(long steps, ZoOptimizer optimizer = ZoOptimizer.MeZO) => new()
    {
        Optimizer = optimizer,
        LearningRate = optimizer == ZoOptimizer.ZoAdam ? 1e-3 : 5e-4,
        BatchSize = 6,
        MicroBatches = 3,
        Seed = 7,
        TotalSteps = steps,
    };

    public static TaskData Train() => TaskData.Load(TrainSplit, "jsonl").Take(TrainExamples);

    /// <summary>Digest of a single-process run of the same spec (one thread, as the workers run).</summary>
    public static string SingleProcessDigest(ZoOptions options)
    {
        using var model = ZoModel.Open(TestPaths.Stories260k, threads: 1);
        using var trainer = new ZoTrainer(model, Train(), options);
        while (trainer.StepIndex < options.TotalSteps) trainer.Step();
        return trainer.WeightsDigest();
    }
}

/// <summary>Scores every micro-batch like the trainer and records each probe point's loss, step by step.</summary>
internal sealed class RecordingLosses(ZoTrainer trainer) : IStepLosses
{
    private readonly LocalLosses _local = new(trainer.MicroBatches);

    public List<List<double>> Steps { get; } = new();

    public double Loss(long step, int probe)
    {
        if (probe == 0) Steps.Add(new List<double>());
        double loss = _local.Loss(step, probe);
        Steps[(int)step].Add(loss);
        return loss;
    }
}

/// <summary>Returns logged losses without ever scoring: what a catching-up replica does.</summary>
internal sealed class LoggedLosses(List<List<double>> log) : IStepLosses
{
    public double Loss(long step, int probe) => log[(int)step][probe];
}
