using NUnit.Framework;
using OrtZo.Distributed.Hosting;
using OrtZo.Tests.Cli;

namespace OrtZo.Tests.Distributed;

/// <summary>The distributed CLI's errors reach the user as error/hint lines; cluster specs parse.</summary>
public class CliGlueTests
{
    [Test]
    public void DistributedTrainNeedsACluster()
    {
        var (code, _, err) = CliRunner.Run("train", "--distributed", "--model", TestPaths.Stories260k, "--data", DistributedFixtures.TrainSplit,
            "--task", "jsonl", "--out", Path.Combine(Path.GetTempPath(), "ortzo-never-written"));
        Assert.That(code, Is.EqualTo(2));
        Assert.That(err, Does.Contain("error: --distributed needs --cluster"));
    }

    [Test]
    public void WorkerRejectsAnUnknownClusterSpec()
    {
        var (code, _, err) = CliRunner.Run("worker", "--cluster", "zookeeper:1.2.3.4");
        Assert.That(code, Is.EqualTo(2));
        Assert.That(err, Does.Contain("expected localhost, dev:HOST:PORT, redis:CONFIGURATION or postgres:CONNECTION-STRING"));
    }

    [Test]
    public void ClusterSpecsParse()
    {
        Assert.That(ClusterSpec.Parse("localhost").Primary!.Port, Is.EqualTo(ClusterSpec.LocalhostPrimaryPort));
        var dev = ClusterSpec.Parse("dev:127.0.0.1:23000");
        Assert.That((dev.Kind, dev.Primary!.Port), Is.EqualTo((ClusterKind.Development, 23000)));
        Assert.That(ClusterSpec.Parse("redis:127.0.0.1:6379,password=x").Connection, Is.EqualTo("127.0.0.1:6379,password=x"));
        Assert.That(ClusterSpec.Parse("postgres:Host=db;Database=orleans").Kind, Is.EqualTo(ClusterKind.Postgres));
        Assert.That(Assert.Throws<OrtZoException>(() => ClusterSpec.Parse("dev:nohost"))!.Kind, Is.EqualTo(OrtZoErrorKind.InvalidOption));
    }
}
