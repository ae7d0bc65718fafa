using System.Diagnostics;
using NUnit.Framework;
using OrtZo.Distributed.Coordinator;
using OrtZo.Distributed.Protocol;

namespace OrtZo.Tests.Distributed;

/// <summary>
/// A distributed run on an in-process Orleans cluster with the real ORT CPU path and failures injected at exact
/// points: every surviving replica ends bit-identical to a single-process run of the same spec.
/// </summary>
[NonParallelizable]
public class ClusterFailureTests
{
    private string _dir = "";

    [SetUp]
    public void SetUp() => _dir = Directory.CreateTempSubdirectory("ortzo-dist-").FullName;

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, true);

    private RunSpec Spec(ZoOptions options, DistributionMode mode = DistributionMode.DataParallel) =>
        RunSpecs.Create(RunCluster.RunId, TestPaths.Stories260k, DistributedFixtures.TrainSplit, "jsonl", options, _dir, mode,
            trainExamples: DistributedFixtures.TrainExamples, leaseMilliseconds: 1500, digestEvery: 5, checkpointEvery: 10);

    [Test]
    [CancelAfter(240_000)]
    public async Task ReplicasEndBitIdenticalAfterCorruptionKilledWorkerKilledCoordinatorAndLateJoin()
    {
        var options = DistributedFixtures.Options(30);
        var reference = Task.Run(() => DistributedFixtures.SingleProcessDigest(options));
        await using var run = new RunCluster(3, evaluateDelayMs: 25);
        var clock = Stopwatch.StartNew();
        var faults = new List<Task>();
        string? killedWorker = null, killedCoordinatorSilo = null, lateSilo = null;
        bool corrupted = false;
        int lossesOpenAtWorkerKill = -1, lossesOpenAtCoordinatorKill = -1;
        var log = new List<string>();

        // a replica whose weights silently change is caught by the next digest and reloaded
        run.AfterStep = (worker, steps, model) =>
        {
            if (worker != "Silo_1" || steps != 3 || corrupted) return;
            corrupted = true;
            unsafe { model.ReadWeights().Pointer(0)[0] ^= 1; }
        };
        run.OnAppended = async (silo, events) =>
        {
            var e = events[^1];
            if (e.Kind == RunEventKind.LossReported && e.Step == 8 && e.Phase == 1 && killedWorker is null)
            {
                // a worker dies with the (−) phase of step 8 open: one loss of three is in
                var victim = run.Cluster.Silos.First(s => s.Name != silo);
                killedWorker = victim.Name;
                lossesOpenAtWorkerKill = CountLosses(run, 8, 1);
                log.Add($"{clock.Elapsed.TotalSeconds:F1}s kill worker {victim.Name} (coordinator on {silo})");
                await run.Cluster.KillSiloAsync(victim).WaitAsync(TimeSpan.FromSeconds(30));
            }
            else if (e.Kind == RunEventKind.LossReported && e.Step == 16 && e.Phase == 1 && killedCoordinatorSilo is null)
            {
                // the coordinator's own silo dies mid-phase: the grain comes back elsewhere from the journal
                killedCoordinatorSilo = silo;
                lossesOpenAtCoordinatorKill = CountLosses(run, 16, 1);
                log.Add($"{clock.Elapsed.TotalSeconds:F1}s kill coordinator silo {silo}");
                var own = run.Cluster.Silos.First(s => s.Name == silo);
                var kill = Task.Run(() => run.Cluster.KillSiloAsync(own));
                faults.Add(kill);
                await Task.WhenAny(kill, Task.Delay(5000));
            }
            else if (e.Kind == RunEventKind.StepCommitted && e.Step == 23 && lateSilo is null)
            {
                lateSilo = "pending";
                log.Add($"{clock.Elapsed.TotalSeconds:F1}s start a fresh silo");
                faults.Add(Task.Run(async () => lateSilo = (await run.Cluster.StartAdditionalSiloAsync()).Name));
            }
        };

        await run.Deploy();
        log.Add($"{clock.Elapsed.TotalSeconds:F1}s deployed");
        var started = await run.Call(c => c.Start(Spec(options)));
        Assert.That(started.Accepted, Is.True, started.Reason);

        await run.AwaitResults(2, TimeSpan.FromSeconds(150));
        await Task.WhenAll(faults).WaitAsync(TimeSpan.FromSeconds(30));
        log.Add($"{clock.Elapsed.TotalSeconds:F1}s done");
        string expected = await reference.WaitAsync(TimeSpan.FromMinutes(3));
        foreach (string line in log) TestContext.Out.WriteLine(line);
        foreach (var r in run.Results.Values) TestContext.Out.WriteLine(r.ToString());
        TestContext.Out.WriteLine("joins: " + string.Join(", ", run.Joins.Select(j => $"{j.Worker}@{j.Step}")));

        Assert.That(killedWorker, Is.Not.Null);
        Assert.That(killedCoordinatorSilo, Is.Not.Null.And.Not.EqualTo(killedWorker));
        Assert.That(lossesOpenAtWorkerKill, Is.EqualTo(1), "the worker was killed with the phase open");
        Assert.That(lossesOpenAtCoordinatorKill, Is.EqualTo(1), "the coordinator's silo was killed with the phase open");
        Assert.That(run.Activations.Count, Is.GreaterThanOrEqualTo(2), "the coordinator was reactivated after its silo died");
        Assert.That(run.Results.Keys, Does.Contain(lateSilo), "the late joiner finished the run");
        // (the test cluster may give the fresh silo the name of a killed one: its join is the last under that name)
        Assert.That(run.Joins.Last(j => j.Worker == lateSilo).Step, Is.EqualTo(20),
            "the late joiner started from the step-20 checkpoint and replayed the rest");
        Assert.That(run.Joins.Count(j => j.Worker == "Silo_1"), Is.GreaterThanOrEqualTo(2), "the corrupted replica was quarantined and reloaded");
        foreach (var r in run.Results.Values)
        {
            Assert.That(r.Steps, Is.EqualTo(30));
            Assert.That(r.Digest, Is.EqualTo(expected), $"replica {r.Worker} differs from the single-process run");
        }
        var status = await run.Call(c => c.Status());
        Assert.That(status.Head, Is.EqualTo(30));
        Assert.That(status.LatestCheckpoint?.Step, Is.EqualTo(30));
        Assert.That(File.Exists(Path.Combine(_dir, "final", "weights.safetensors")), Is.True, "the final model was written");
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task QueryParallelRunEqualsTheSingleProcessRun()
    {
        var options = DistributedFixtures.Options(8) with { Queries = 3 };
        var reference = Task.Run(() => DistributedFixtures.SingleProcessDigest(options));
        await using var run = new RunCluster(2, evaluateDelayMs: 5);
        await run.Deploy();
        var started = await run.Call(c => c.Start(Spec(options, DistributionMode.QueryParallel)));
        Assert.That(started.Accepted, Is.True, started.Reason);
        await run.AwaitResults(2, TimeSpan.FromSeconds(90));
        string expected = await reference.WaitAsync(TimeSpan.FromMinutes(3));
        foreach (var r in run.Results.Values)
        {
            TestContext.Out.WriteLine(r.ToString());
            Assert.That(r.Digest, Is.EqualTo(expected), $"replica {r.Worker}");
        }
        Assert.That(run.Results.Values.All(r => r.MicroBatchesEvaluated > 0), Is.True, "both workers evaluated");
    }

    private static int CountLosses(RunCluster run, long step, int phase) =>
        run.Journal.Snapshot(RunCluster.RunId).Count(e => e.Kind == RunEventKind.LossReported && e.Step == step && e.Phase == phase);
}
