using System.Diagnostics;
using NUnit.Framework;
using OrtZo.Distributed.Hosting;

namespace OrtZo.Tests.Distributed;

/// <summary>
/// Redis clustering with a real redis-server on 127.0.0.1: membership and the coordinator's journal both in
/// Redis, two `ortzo worker` processes and `ortzo train --distributed`. Skipped (with the reason) where the
/// redis-server binary is missing; .ci/run installs it.
/// </summary>
[NonParallelizable]
public class RedisClusterTests
{
    private string _dir = "";
    private Process? _redis;

    [SetUp]
    public void SetUp() => _dir = Directory.CreateTempSubdirectory("ortzo-redis-").FullName;

    [TearDown]
    public void TearDown()
    {
        if (_redis is { HasExited: false })
        {
            _redis.Kill();
            _redis.WaitForExit(10_000);
        }
        _redis?.Dispose();
        Directory.Delete(_dir, true);
    }

    private static string? RedisServer() =>
        new[] { "/usr/bin/redis-server", "/usr/local/bin/redis-server" }.FirstOrDefault(File.Exists);

    [Test]
    [CancelAfter(180_000)]
    public void RunOnRedisClusteringAndJournal()
    {
        string? server = RedisServer();
        if (server is null) Assert.Ignore("redis-server is not installed (apt-get install redis-server); .ci/run installs it");
        int port = SiloEndpoints.FreeLoopbackPair().SiloPort;
        var psi = new ProcessStartInfo(server) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "--bind", "127.0.0.1", "--port", port.ToString(), "--save", "", "--appendonly", "no", "--dir", _dir })
            psi.ArgumentList.Add(a);
        _redis = Process.Start(psi)!;
        _redis.OutputDataReceived += (_, _) => { };
        _redis.ErrorDataReceived += (_, _) => { };
        _redis.BeginOutputReadLine();
        _redis.BeginErrorReadLine();
        CliProcesses.Wait(() => CliProcesses.Listening(port), TimeSpan.FromSeconds(20), "redis-server to listen", _redis);

        var options = DistributedFixtures.Options(12);
        var reference = Task.Run(() => DistributedFixtures.SingleProcessDigest(options));
        string data = Path.Combine(_dir, "train.jsonl");
        File.WriteAllLines(data, File.ReadLines(DistributedFixtures.TrainSplit).Take(DistributedFixtures.TrainExamples));
        string cluster = $"redis:127.0.0.1:{port}", outDir = Path.Combine(_dir, "run");
        using var processes = new CliProcesses(_dir);
        foreach (string name in new[] { "a", "b" })
            processes.Start(name, "worker", "--cluster", cluster, "--run", "redis-run", "--name", name, "--threads", "1");
        var train = processes.Start("train", CliProcesses.TrainArgs(cluster, "redis-run", data, outDir, 12));

        Assert.That(train.WaitForExit(150_000), Is.True, "the run finished in time");
        Assert.That(train.ExitCode, Is.EqualTo(0), File.ReadAllText(processes.Log("train")));
        CliProcesses.Wait(() => CliProcesses.Replicas(outDir).Count >= 2, TimeSpan.FromSeconds(30), "both replicas' reports");
        string expected = reference.Result;
        foreach (var r in CliProcesses.Replicas(outDir).Values)
        {
            TestContext.Out.WriteLine(r.ToString());
            Assert.That(r.Digest, Is.EqualTo(expected), $"replica {r.Worker}");
        }
    }
}
