using NUnit.Framework;
using OrtZo.Distributed.Coordinator;
using OrtZo.Distributed.Protocol;
using OrtZo.Distributed.Worker;
using OrtZo.Training;

namespace OrtZo.Tests.Distributed;

/// <summary>The committed step depends on the micro-batch losses only: not on which worker sent what, in which order, or how often.</summary>
public class PhaseAggregationTests
{
    private static RunSpec Spec(ZoOptions options) => new()
    {
        RunId = "r",
        ModelPath = "m",
        DataPath = "d",
        Task = "jsonl",
        OptionsJson = RunInputs.OptionsJson(options),
        RunDirectory = "out",
        SpecHash = "h",
    };

    private static StepEntry Commit(ZoOptions options, IEnumerable<(string Worker, int Phase, int MicroBatch, double Loss)> reports)
    {
        var state = new CoordinatorState();
        state.Apply(RunEvent.Started(Spec(options)));
        state.Apply(RunEvent.Reported(new LossReport("stale", 3, 0, 0, 99.0)));   // another step: ignored
        foreach (var r in reports) state.Apply(RunEvent.Reported(new LossReport(r.Worker, 0, r.Phase, r.MicroBatch, r.Loss)));
        Assert.That(state.StepComplete(DistributionMode.DataParallel), Is.True);
        state.Apply(RunEvent.Committed(0));
        state.Apply(RunEvent.Committed(0));   // a duplicate commit changes nothing
        Assert.That(state.Log, Has.Count.EqualTo(1));
        return state.Log[0];
    }

    [Test]
    public void TheStepEntryDoesNotDependOnWhoComputedWhat()
    {
        var options = new ZoOptions { BatchSize = 8, MicroBatches = 4, Epsilon = 1e-3, Seed = 5 };
        double[][] losses = [[2.1, 1.9000000000000001, 2.3, 0.7], [2.0999, 1.90002, 2.29, 0.70001]];
        var all = (from p in Enumerable.Range(0, 2) from k in Enumerable.Range(0, 4) select (p, k)).ToList();
        var rnd = new Random(3);
        StepEntry? first = null;
        for (int trial = 0; trial < 20; trial++)
        {
            // phase 0 is complete before phase 1 starts; within a phase any order, any worker, with repeats
            var order = all.Where(t => t.p == 0).OrderBy(_ => rnd.Next())
                .Concat(all.Where(t => t.p == 1).OrderBy(_ => rnd.Next())).ToList();
            var reports = new List<(string, int, int, double)>();
            foreach (var (p, k) in order)
            {
                reports.Add(($"w{rnd.Next(trial % 5 + 1)}", p, k, losses[p][k]));
                if (rnd.Next(3) == 0) reports.Add(("late", p, k, 123.0));   // a second report of the task: the first wins
            }
            var entry = Commit(options, reports);
            first ??= entry;
            Assert.That(entry.Losses, Is.EqualTo(first.Losses));
            Assert.That(entry.ProjectedGradients, Is.EqualTo(first.ProjectedGradients));
        }
        double plus = MicroBatches.Mean(losses[0]), minus = MicroBatches.Mean(losses[1]);
        Assert.That(first!.Losses, Is.EqualTo(new[] { plus, minus }));
        Assert.That(first.ProjectedGradients[0], Is.EqualTo((plus - minus) / (2.0 * (float)options.Epsilon)));
        Assert.That(first.Seeds[0], Is.EqualTo(OrtZo.Engine.ZoNoise.StepSeed(5, 0, 0)));
    }

    [Test]
    public void TheMeanSumsInMicroBatchOrder()
    {
        Assert.That(MicroBatches.Mean([0.1]), Is.EqualTo(0.1));
        Assert.That(MicroBatches.Mean([1e16, 1.0, -1e16]), Is.EqualTo((1e16 + 1.0 - 1e16) / 3));
        Assert.That(MicroBatches.Range(10, 3, 0), Is.EqualTo((0, 3)));
        Assert.That(MicroBatches.Range(10, 3, 2), Is.EqualTo((6, 10)));
    }
}
