using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OrtZo.Distributed.Journal;
using OrtZo.Distributed.Worker;
using StackExchange.Redis;

namespace OrtZo.Distributed.Hosting;

/// <summary>Builds the host of an <c>ortzo worker</c> process: a silo of the cluster plus the worker service.</summary>
public static class WorkerHost
{
    public static IHost Build(ClusterSpec cluster, SiloEndpoints endpoints, WorkerOptions worker, string? journalFolder, LogLevel logLevel = LogLevel.Warning)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(o => (o.SingleLine, o.TimestampFormat) = (true, "HH:mm:ss.fff "));
        builder.Logging.SetMinimumLevel(logLevel);
        builder.Logging.AddFilter("OrtZo", LogLevel.Information);
        builder.Services.AddSingleton(Journal(cluster, journalFolder));
        builder.Services.AddSingleton(worker);
        builder.UseOrleans(silo => silo.UseOrtZoCluster(cluster, endpoints).AddOrtZoRuntime(FailureDetection.Default));
        builder.Services.AddHostedService<ZoWorkerService>();
        return builder.Build();
    }

    /// <summary>
    /// Where the coordinator journals: the given folder; else Redis when the cluster is in Redis; else
    /// ~/.ortzo/journal (one machine: all its processes see it).
    /// </summary>
    public static IRunJournal Journal(ClusterSpec cluster, string? folder)
    {
        if (folder is not null) return new FileRunJournal(folder);
        if (cluster.Kind == ClusterKind.Redis) return new RedisRunJournal(ConnectionMultiplexer.Connect(cluster.Connection!));
        return new FileRunJournal(DefaultJournalFolder);
    }

    public static string DefaultJournalFolder =>
        Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".ortzo", "journal");
}
