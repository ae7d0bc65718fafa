using System.Diagnostics;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OrtZo.Distributed.Coordinator;
using OrtZo.Distributed.Hosting;
using OrtZo.Distributed.Journal;
using OrtZo.Distributed.Protocol;
using OrtZo.Distributed.Worker;
using Orleans.TestingHost;

namespace OrtZo.Bench;

/// <summary>
/// An in-process Orleans cluster for the distributed figures: silo 0 hosts the coordinator and no worker, so every
/// worker call crosses the wire; silos 1..N host one worker each. Journal appends are timestamped,
/// and Orleans' message-size meters are summed to give the bytes on the wire.
/// </summary>
internal sealed class BenchCluster : IAsyncDisposable
{
    public const string RunId = "bench";
    private readonly MeterListener _meters = new();
    private long _sentBytes, _sentMessages;

    private readonly int _workers;

    public BenchCluster(int workers, FailureDetection timing)
    {
        _workers = workers;
        var builder = new InProcessTestClusterBuilder(1);
        builder.Options.ConfigureFileLogging = false;
        builder.ConfigureSilo((_, silo) => silo.AddOrtZoRuntime(timing));
        builder.ConfigureSiloHost((options, host) =>
        {
            host.Logging.SetMinimumLevel(LogLevel.Error);
            host.Services.AddSingleton<IRunJournal>(Journal);
            if (options.SiloName == "Silo_0") return;
            host.Services.AddSingleton(new WorkerOptions
            {
                RunId = RunId,
                WorkerId = options.SiloName,
                Threads = 1,
                MaxPollInterval = TimeSpan.FromMilliseconds(5),
                Hooks = new WorkerHooks { Finished = r => Finished.Add(r) },
            });
            host.Services.AddHostedService<ZoWorkerService>();
        });
        Cluster = builder.Build();
        _meters.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Name is "orleans-messaging-sent-messages-size") listener.EnableMeasurementEvents(instrument);
        };
        _meters.SetMeasurementEventCallback<int>((_, bytes, _, _) => { Interlocked.Add(ref _sentBytes, bytes); Interlocked.Increment(ref _sentMessages); });
        _meters.SetMeasurementEventCallback<long>((_, bytes, _, _) => { Interlocked.Add(ref _sentBytes, bytes); Interlocked.Increment(ref _sentMessages); });
        _meters.Start();
    }

    public TimedJournal Journal { get; } = new();
    public InProcessTestCluster Cluster { get; }
    public System.Collections.Concurrent.ConcurrentBag<ReplicaResult> Finished { get; } = new();
    public long SentBytes => Interlocked.Read(ref _sentBytes);
    public long SentMessages => Interlocked.Read(ref _sentMessages);

    public IRunCoordinator Coordinator => Cluster.Client.GetGrain<IRunCoordinator>(RunId);

    /// <summary>
    /// Starts silo 0 alone and activates the coordinator there (it stays: Orleans does not move activations on
    /// its own), then the worker silos, then the run.
    /// </summary>
    public async Task StartRun(RunSpec spec)
    {
        await Cluster.DeployAsync().WaitAsync(TimeSpan.FromMinutes(2));
        await Coordinator.GetSpec().WaitAsync(TimeSpan.FromSeconds(30));
        for (int i = 0; i < _workers; i++) await Cluster.StartAdditionalSiloAsync().WaitAsync(TimeSpan.FromMinutes(1));
        var reply = await Coordinator.Start(spec).WaitAsync(TimeSpan.FromSeconds(30));
        if (!reply.Accepted) throw new InvalidOperationException(reply.Reason);
    }

    public async Task AwaitFinished(int replicas, TimeSpan limit)
    {
        var clock = Stopwatch.StartNew();
        while (Finished.Count < replicas)
        {
            if (clock.Elapsed > limit)
                throw new TimeoutException($"{Finished.Count} of {replicas} replicas finished in {limit}; journal: " +
                    string.Join(" ", (await Journal.ReadAsync(RunId)).TakeLast(12).Select(e => $"{e.Kind}({e.Step},{e.Phase},{e.MicroBatch},{e.Worker})")));
            await Task.Delay(50);
        }
    }

    public async ValueTask DisposeAsync()
    {
        _meters.Dispose();
        try
        {
            await Cluster.StopAllSilosAsync().WaitAsync(TimeSpan.FromSeconds(30));
        }
        catch (Exception)
        {
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

/// <summary>A memory journal that notes when each event became durable, and lets a benchmark act on events.</summary>
internal sealed class TimedJournal : IRunJournal
{
    private readonly MemoryRunJournal _inner = new();
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly List<(double Seconds, RunEvent Event)> _timeline = new();

    public Func<RunEvent, Task>? Appended { get; set; }

    public Task<IReadOnlyList<RunEvent>> ReadAsync(string runId) => _inner.ReadAsync(runId);

    public async Task<bool> AppendAsync(string runId, IReadOnlyList<RunEvent> events, int expectedVersion)
    {
        if (!await _inner.AppendAsync(runId, events, expectedVersion)) return false;
        lock (_timeline)
            foreach (var e in events) _timeline.Add((_clock.Elapsed.TotalSeconds, e));
        if (Appended is { } hook)
            foreach (var e in events) await hook(e);
        return true;
    }

    /// <summary>When step <paramref name="step"/> was committed.</summary>
    public double CommitTime(long step)
    {
        lock (_timeline) return _timeline.First(t => t.Event.Kind == RunEventKind.StepCommitted && t.Event.Step == step).Seconds;
    }
}
