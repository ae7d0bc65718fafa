using NUnit.Framework;
using OrtZo.Distributed.Hosting;

namespace OrtZo.Tests.Distributed;

/// <summary>
/// Three `ortzo worker` processes on 127.0.0.1 (development clustering) and `ortzo train --distributed`; one
/// secondary worker is killed with SIGKILL mid-run. The survivors finish bit-identical to a single-process run.
/// </summary>
[NonParallelizable]
public class MultiProcessSmokeTests
{
    private string _dir = "";

    [SetUp]
    public void SetUp() => _dir = Directory.CreateTempSubdirectory("ortzo-mp-").FullName;

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, true);

    [Test]
    [CancelAfter(240_000)]
    public void WorkersSurviveAKillMinus9()
    {
        var options = DistributedFixtures.Options(24);
        var reference = Task.Run(() => DistributedFixtures.SingleProcessDigest(options));
        string data = Path.Combine(_dir, "train.jsonl");
        File.WriteAllLines(data, File.ReadLines(DistributedFixtures.TrainSplit).Take(DistributedFixtures.TrainExamples));
        string journal = Path.Combine(_dir, "journal"), outDir = Path.Combine(_dir, "run");
        int port = SiloEndpoints.FreeLoopbackPair().SiloPort;
        string cluster = $"dev:127.0.0.1:{port}";
        // no --run: the workers take the run `train` starts (the cluster's run registry)
        string[] Worker(string name, params string[] more) =>
            ["worker", "--cluster", cluster, "--name", name, "--threads", "1", "--journal", journal, .. more];

        using var processes = new CliProcesses(_dir);
        var primary = processes.Start("w0", Worker("w0", "--port", port.ToString()));
        CliProcesses.Wait(() => CliProcesses.Listening(port), TimeSpan.FromSeconds(60), "the primary silo to listen", primary);
        var doomed = processes.Start("w1", Worker("w1"));
        processes.Start("w2", Worker("w2"));
        var train = processes.Start("train", CliProcesses.TrainArgs(cluster, "smoke", data, outDir, 24));

        string journalFile = Path.Combine(journal, "smoke.journal.jsonl");
        CliProcesses.Wait(() => CommittedSteps(journalFile) >= 6, TimeSpan.FromSeconds(120), "six committed steps", train);
        doomed.Kill();   // SIGKILL: no goodbye to the cluster
        TestContext.Out.WriteLine($"killed w1 (pid {doomed.Id}) after {CommittedSteps(journalFile)} steps");

        Assert.That(train.WaitForExit(150_000), Is.True, "the run finished in time");
        Assert.That(train.ExitCode, Is.EqualTo(0), File.ReadAllText(processes.Log("train")));
        CliProcesses.Wait(() => CliProcesses.Replicas(outDir).Count >= 2, TimeSpan.FromSeconds(30), "both survivors' reports");
        var replicas = CliProcesses.Replicas(outDir);
        foreach (var r in replicas.Values) TestContext.Out.WriteLine(r.ToString());
        Assert.That(replicas.Keys, Is.EquivalentTo(new[] { "w0", "w2" }));
        string expected = reference.Result;
        foreach (var r in replicas.Values) Assert.That(r.Digest, Is.EqualTo(expected), $"replica {r.Worker}");
    }

    private static int CommittedSteps(string journal)
    {
        if (!File.Exists(journal)) return 0;
        try
        {
            using var stream = new FileStream(journal, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            using var reader = new StreamReader(stream);
            return reader.ReadToEnd().Split('\n').Count(l => l.Contains("\"step-committed\""));
        }
        catch (IOException)
        {
            return 0;   // the coordinator holds the write lock this instant
        }
    }
}
