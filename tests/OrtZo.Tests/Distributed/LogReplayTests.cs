using NUnit.Framework;
using OrtZo.Training;
using OrtZo.Engine;

namespace OrtZo.Tests.Distributed;

/// <summary>
/// Why a replica replays the whole canonical step: fed the logged losses, ZoStep reproduces the single-process
/// weights bit for bit for every estimator; applying only the logged updates does not.
/// </summary>
public class LogReplayTests
{
    private static IEnumerable<TestCaseData> Estimators()
    {
        yield return new TestCaseData(DistributedFixtures.Options(12) with { Queries = 2 }).SetName("MeZO q=2");
        yield return new TestCaseData(DistributedFixtures.Options(12, ZoOptimizer.ZoAdam)).SetName("ZO-Adam");
        yield return new TestCaseData(DistributedFixtures.Options(12, ZoOptimizer.SparseMeZO)).SetName("Sparse-MeZO");
        yield return new TestCaseData(DistributedFixtures.Options(12) with { OnePoint = true, Queries = 2 }).SetName("one-point q=2");
        yield return new TestCaseData(DistributedFixtures.Options(12, ZoOptimizer.ZoConservative)).SetName("ZO-SGD-Cons");
        yield return new TestCaseData(DistributedFixtures.Options(8) with { BlockWise = BlockWiseMode.Coordinate }).SetName("block-wise coordinate");
    }

    [TestCaseSource(nameof(Estimators))]
    public void ReplayingLoggedLossesEqualsTheSingleProcessRun(ZoOptions options)
    {
        var train = DistributedFixtures.Train();
        RecordingLosses recorder;
        string live;
        using (var model = ZoModel.Open(TestPaths.Stories260k, threads: 1))
        using (var trainer = new ZoTrainer(model, train, options))
        {
            recorder = new RecordingLosses(trainer);
            for (int i = 0; i < options.TotalSteps; i++)
            {
                var recorded = trainer.Step(recorder);
                Assert.That(recorded.Loss, Is.Not.NaN);
            }
            live = trainer.WeightsDigest();
        }
        // the recorder's losses are exactly what the plain trainer computes
        Assert.That(DistributedFixtures.SingleProcessDigest(options), Is.EqualTo(live));

        using var replayModel = ZoModel.Open(TestPaths.Stories260k, threads: 1);
        using var replay = new ZoTrainer(replayModel, train, options);
        var replaySource = new LoggedLosses(recorder.Steps);
        for (int i = 0; i < options.TotalSteps; i++) replay.Step(replaySource);
        Assert.That(replay.WeightsDigest(), Is.EqualTo(live), "replay of the logged probe losses");
    }

    [Test]
    public unsafe void ReplayingOnlyTheUpdatesDrifts()
    {
        var options = DistributedFixtures.Options(30) with { MicroBatches = 1, LearningRate = 1e-3 };
        var train = DistributedFixtures.Train();
        var gradients = new List<double>();
        float[] live;
        using (var model = ZoModel.Open(TestPaths.Stories260k, threads: 1))
        using (var trainer = new ZoTrainer(model, train, options))
        {
            for (int i = 0; i < options.TotalSteps; i++) gradients.Add(trainer.Step().ProjectedGradient);
            trainer.WeightsDigest();   // settles
            live = Floats(model);
        }

        // the same updates (seed, g) on θ0, without the +εz, −2εz, +εz around each
        using var bare = ZoModel.Open(TestPaths.Stories260k, threads: 1);
        var engine = bare.Engine.Weights.BeginTraining(TrainingPlan.Tensors(bare.Folder.Manifest, bare.ReadWeights(), options), 0,
            TrainingPlan.Settings(options), [[.. Enumerable.Range(0, bare.ReadWeights().Layout.Slots.Count)]]);
        var (buffers, runner) = (engine.Buffers, engine.Runner);
        int[] all = buffers.Trainable.Select(t => t.Slot.Index).ToArray();
        for (int t = 0; t < options.TotalSteps; t++)
        {
            runner.Run([new PassSegment
            {
                Slots = all,
                Update = new UpdateSpec
                {
                    Rule = UpdateRule.Sgd,
                    Directions = [new Direction(ZoNoise.StepSeed(options.Seed, t, 0), (float)gradients[t])],
                    MaskSeed = ZoNoise.StepSeed(options.Seed, t, ZoStep.MaskSeedIndex),
                    LearningRate = (float)options.LearningRate,
                    RoundingSeed = ZoNoise.StepSeed(options.Seed, t, ZoStep.RoundingSeedIndex),
                },
            }]);
        }
        float[] replayed = Floats(bare);

        int differing = 0;
        double maxDiff = 0;
        for (int i = 0; i < live.Length; i++)
        {
            if (BitConverter.SingleToInt32Bits(live[i]) == BitConverter.SingleToInt32Bits(replayed[i])) continue;
            differing++;
            maxDiff = Math.Max(maxDiff, Math.Abs(live[i] - replayed[i]));
        }
        TestContext.Out.WriteLine($"update-only replay: {differing} of {live.Length} weights differ, max |Δ| {maxDiff:E2}");
        Assert.That(differing, Is.GreaterThan(0), "perturb/restore rounding must show: replay has to repeat the whole step");
        Assert.That(maxDiff, Is.LessThan(1e-4), "the difference is rounding drift, not a different update");
    }

    private static unsafe float[] Floats(ZoModel model)
    {
        var result = new List<float>();
        var weights = model.ReadWeights();
        foreach (var slot in weights.Layout.Slots) result.AddRange(weights.ReadFloat32(slot.Index));
        return result.ToArray();
    }
}
