using System.CommandLine;
using System.Diagnostics;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OrtZo.Distributed.Coordinator;
using OrtZo.Distributed.Hosting;
using OrtZo.Distributed.Protocol;
using OrtZo.Distributed.Worker;
using Spectre.Console;

namespace OrtZo.Cli.Commands;

/// <summary>
/// <c>ortzo train --distributed</c>: submits the run to the cluster's coordinator and shows its progress. The
/// work happens in <c>ortzo worker</c> processes; this process only talks to the cluster, and may be stopped
/// and started again (the run goes on, and a second submission of the same spec just watches it).
/// </summary>
internal static class DistributedTrain
{
    public static readonly Option<bool> Distributed = new("--distributed") { Description = "Run on the workers of an Orleans cluster (see `ortzo worker`)" };
    public static readonly Option<string?> Cluster = new("--cluster") { Description = "With --distributed: localhost | dev:HOST:PORT | redis:HOST:PORT | postgres:CONNECTION-STRING" };
    public static readonly Option<string?> Run = new("--run")
    {
        Description = "With --distributed: id of the run (default: from the spec hash, so the same command resumes or watches the same run); workers without --run take the latest",
    };
    public static readonly Option<string> Mode = new("--mode")
    {
        Description = "With --distributed: data (exact data parallelism over micro-batches) | query (queries of a step side by side)",
        DefaultValueFactory = _ => "data",
    };
    public static readonly Option<int> LeaseMs = new("--lease-ms") { Description = "With --distributed: how long a worker holds a task", DefaultValueFactory = _ => 5000 };
    public static readonly Option<int> DigestEvery = new("--digest-every") { Description = "With --distributed: steps between weight-digest checks", DefaultValueFactory = _ => 10 };

    public static IEnumerable<Option> Options => [Distributed, Cluster, Run, Mode, LeaseMs, DigestEvery];

    public static int Start(ParseResult result, ZoOptions options, string model, string data, string task, string outDir, long checkpointEvery)
    {
        if (result.GetValue<string?>("--dev") is not null || result.GetValue<string?>("--test") is not null || result.GetValue<int?>("--num-train") is not null)
            throw OptionErrors.Fail(OptionError.Conflict, "--distributed", "trains on --data as it is; evaluate the final model with `ortzo eval` (no --dev, --test or --num-train)");
        var cluster = ClusterSpec.Parse(result.GetValue(Cluster) ?? throw OptionErrors.Fail(OptionError.Conflict, "--distributed", "needs --cluster"));
        var mode = result.GetValue(Mode) switch
        {
            "data" => DistributionMode.DataParallel,
            "query" => DistributionMode.QueryParallel,
            var m => throw OptionErrors.Fail(OptionError.UnknownValue, "--mode", $"\'{m}\'; expected data or query"),
        };
        var spec = RunSpecs.Create(result.GetValue(Run) ?? "pending", model, data, task, options, outDir, mode, 0, result.GetValue(LeaseMs), result.GetValue(DigestEvery),
            checkpointEvery > 0 ? (int)checkpointEvery : 100);
        if (result.GetValue(Run) is null) spec = spec with { RunId = "run-" + spec.SpecHash[..12] };
        string runId = spec.RunId;
        AnsiConsole.MarkupLine($"run [bold]{Markup.Escape(runId)}[/] on {Markup.Escape(cluster.ToString())}: {options.TotalSteps} steps, {options.MicroBatches} micro-batches a step, {mode}, spec {spec.SpecHash}");

        using var host = ConnectClient(cluster);
        var coordinator = host.Services.GetRequiredService<IClusterClient>().GetGrain<IRunCoordinator>(runId);
        var reply = Retry(() => coordinator.Start(spec));
        if (!reply.Accepted) throw OptionErrors.Fail(OptionError.Conflict, "--run", $"was refused by the cluster: {reply.Reason}; choose another --run");
        if (reply.Reason is { } note) AnsiConsole.MarkupLine($"[grey]{Markup.Escape(note)}: watching it[/]");

        using var cancel = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) => { e.Cancel = true; cancel.Cancel(); };
        var clock = Stopwatch.StartNew();
        var final = Watch(coordinator, options.TotalSteps, spec.RunDirectory, cancel.Token);
        if (final is null)
        {
            AnsiConsole.MarkupLine("[yellow]stopped watching; the run goes on on the workers[/]");
            return 130;
        }
        Summarize(final, spec, clock.Elapsed);
        return 0;
    }

    private static IHost ConnectClient(ClusterSpec cluster)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            var builder = Host.CreateApplicationBuilder();
            builder.Logging.ClearProviders();
            builder.UseOrleansClient(c => c.UseOrtZoCluster(cluster));
            var host = builder.Build();
            try
            {
                host.StartAsync().WaitAsync(TimeSpan.FromSeconds(30)).GetAwaiter().GetResult();
                return host;
            }
            catch (Exception e) when (deadline.Elapsed < TimeSpan.FromSeconds(60))
            {
                host.Dispose();
                AnsiConsole.MarkupLine($"[grey]cannot reach the cluster yet ({Markup.Escape(e.GetType().Name)}); start a worker with `ortzo worker --cluster {Markup.Escape(cluster.ToString())}`[/]");
                Thread.Sleep(2000);
            }
        }
    }

    private static RunStatus? Watch(IRunCoordinator coordinator, long total, string runDirectory, CancellationToken cancel)
    {
        RunStatus? last = null;
        var unreachable = Stopwatch.StartNew();
        bool interactive = !Console.IsOutputRedirected && AnsiConsole.Profile.Capabilities.Interactive;
        void Loop(Action<RunStatus> show)
        {
            while (!cancel.IsCancellationRequested)
            {
                try
                {
                    last = coordinator.Status().WaitAsync(TimeSpan.FromSeconds(10)).GetAwaiter().GetResult();
                    unreachable.Restart();
                    show(last);
                    if (last.Head >= total && last.LatestCheckpoint?.Step >= total) return;
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    // the coordinator is moving to another silo, or the workers left once the run was done
                    if (unreachable.Elapsed > TimeSpan.FromSeconds(15) && File.Exists(Path.Combine(runDirectory, "final", "weights.safetensors")))
                    {
                        last = (last ?? new RunStatus(true, total, total, 0, double.NaN, 0, [], null, "?", 0)) with { Head = total };
                        return;
                    }
                }
                cancel.WaitHandle.WaitOne(500);
            }
        }
        if (interactive)
            AnsiConsole.Live(new Text("waiting for the coordinator…")).Start(ctx => Loop(s => { ctx.UpdateTarget(View(s)); ctx.Refresh(); }));
        else
        {
            long printed = -1;
            Loop(s =>
            {
                if (s.Head == printed) return;
                printed = s.Head;
                Console.WriteLine($"step {s.Head}/{s.TotalSteps} {s.StepsPerSecond:F2} step/s loss {s.LastLoss:F4} workers " +
                    string.Join(" ", s.Workers.Where(w => w.SecondsSinceSeen < 10).Select(w => $"{w.Worker}@{w.Step}.{w.Phase}")));
            });
        }
        return cancel.IsCancellationRequested ? null : last;
    }

    /// <summary>The progress view: the run's head and rate, and per worker its position, rate and state.</summary>
    internal static Table View(RunStatus s)
    {
        var table = new Table().Title($"step {s.Head}/{s.TotalSteps} · {s.StepsPerSecond:F2} step/s · loss {s.LastLoss:F4} · coordinator on {Markup.Escape(s.CoordinatorSilo)}")
            .AddColumns("worker", "device", "step", "phase", "step/s", "tasks", "seen", "state");
        foreach (var w in s.Workers)
        {
            string state = w.Quarantined ? "[red]reloading[/]" : w.SecondsSinceSeen > 10 ? "[grey]gone[/]" : "[green]working[/]";
            table.AddRow(Markup.Escape(w.Worker), Markup.Escape(w.Device), w.Step.ToString(), w.Phase.ToString(), $"{w.StepsPerSecond:F2}",
                w.TasksEvaluated.ToString(), $"{w.SecondsSinceSeen:F1}s ago", state);
        }
        if (s.LatestCheckpoint is { } c) table.Caption($"checkpoint at step {c.Step}: {Markup.Escape(c.Folder)}");
        return table;
    }

    private static void Summarize(RunStatus s, RunSpec spec, TimeSpan elapsed)
    {
        var table = new Table().AddColumns("", "value");
        table.AddRow("steps", $"{s.Head} in {elapsed.TotalSeconds:F1} s ({s.Head / Math.Max(1e-9, elapsed.TotalSeconds):F2} step/s seen here)");
        table.AddRow("final model", Markup.Escape(Path.Combine(spec.RunDirectory, "final")));
        table.AddRow("checkpoint", Markup.Escape(s.LatestCheckpoint?.Folder ?? "-"));
        string replicas = Path.Combine(spec.RunDirectory, "replicas");
        if (Directory.Exists(replicas))
            foreach (string file in Directory.GetFiles(replicas, "*.json").Order())
                if (JsonSerializer.Deserialize<ReplicaResult>(File.ReadAllText(file)) is { } r)
                    table.AddRow($"replica {Markup.Escape(r.Worker)}", $"digest {r.Digest[..16]}, {r.MicroBatchesEvaluated} micro-batches, {r.StepsReplayed} steps replayed");
        AnsiConsole.Write(table);
    }

    private static T Retry<T>(Func<Task<T>> call)
    {
        for (int attempt = 0; ; attempt++)
        {
            try
            {
                return call().WaitAsync(TimeSpan.FromSeconds(30)).GetAwaiter().GetResult();
            }
            catch (Exception) when (attempt < 10)
            {
                Thread.Sleep(1000);
            }
        }
    }
}
