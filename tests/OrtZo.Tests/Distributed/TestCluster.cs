using System.Collections.Concurrent;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OrtZo.Distributed.Coordinator;
using OrtZo.Distributed.Hosting;
using OrtZo.Distributed.Journal;
using OrtZo.Distributed.Worker;
using Orleans.TestingHost;

namespace OrtZo.Tests.Distributed;

/// <summary>
/// An in-process Orleans cluster whose every silo hosts a worker of one run (real ORT CPU sessions, one thread
/// each). The journal and the activation counter are shared by all silos, as a database would be.
/// </summary>
internal sealed class RunCluster : IAsyncDisposable
{
    public const string RunId = "test-run";

    public MemoryRunJournal Journal { get; } = new();
    public CoordinatorActivations Activations { get; } = new();
    public ConcurrentDictionary<string, ReplicaResult> Results { get; } = new();
    public ConcurrentQueue<(string Worker, long Step)> Joins { get; } = new();
    public InProcessTestCluster Cluster { get; }

    /// <summary>Called after each journal append with the coordinator's silo and the appended events.</summary>
    public Func<string, IReadOnlyList<RunEvent>, Task> OnAppended { get; set; } = (_, _) => Task.CompletedTask;

    public Action<string, long, ZoModel>? AfterStep { get; set; }

    public RunCluster(short silos, int evaluateDelayMs)
    {
        var builder = new InProcessTestClusterBuilder(silos);
        builder.Options.ConfigureFileLogging = false;
        builder.ConfigureSilo((_, silo) => silo.AddOrtZoRuntime(FailureDetection.Fast));
        builder.ConfigureSiloHost((options, host) =>
        {
            string name = options.SiloName;
            host.Logging.SetMinimumLevel(LogLevel.Warning);
            host.Services.AddSingleton<IRunJournal>(new SiloJournal(Journal, name, (silo, events) => OnAppended(silo, events)));
            host.Services.AddSingleton(Activations);
            host.Services.AddSingleton(new WorkerOptions
            {
                RunId = RunId,
                WorkerId = name,
                Threads = 1,
                Hooks = new WorkerHooks
                {
                    EvaluateDelayMs = evaluateDelayMs,
                    Finished = r => Results[r.Worker] = r,
                    Joined = (w, step) => Joins.Enqueue((w, step)),
                    AfterStep = (w, steps, model) => AfterStep?.Invoke(w, steps, model),
                },
            });
            host.Services.AddHostedService<ZoWorkerService>();
        });
        Cluster = builder.Build();
    }

    public IRunCoordinator Coordinator => Cluster.Client.GetGrain<IRunCoordinator>(RunId);

    /// <summary>Starts the silos (every wait in these tests is bounded: a hang fails the test instead of CI).</summary>
    public Task Deploy() => Cluster.DeployAsync().WaitAsync(TimeSpan.FromMinutes(2));

    /// <summary>Retries a client call: the silo behind the test client's gateway may have been killed.</summary>
    public async Task<T> Call<T>(Func<IRunCoordinator, Task<T>> call)
    {
        for (int attempt = 0; ; attempt++)
        {
            try
            {
                return await call(Coordinator).WaitAsync(TimeSpan.FromSeconds(30));
            }
            catch (Exception) when (attempt < 20)
            {
                await Task.Delay(250);
            }
        }
    }

    /// <summary>Waits until <paramref name="count"/> replicas have finished, or fails after <paramref name="limit"/>.</summary>
    public async Task AwaitResults(int count, TimeSpan limit)
    {
        var deadline = DateTime.UtcNow + limit;
        while (Results.Count < count)
        {
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"{Results.Count} of {count} replicas finished within {limit}; journal has {Journal.Snapshot(RunId).Count} events");
            await Task.Delay(100);
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await Cluster.StopAllSilosAsync().WaitAsync(TimeSpan.FromSeconds(30));
        }
        catch (Exception)
        {
            // a silo killed by the test may not stop cleanly; the process-level teardown covers it
        }
        try
        {
            await Cluster.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(30));
        }
        catch (TimeoutException)
        {
            // a silo that does not stop must not hang the caller; the process exit reclaims it
        }
    }
}
