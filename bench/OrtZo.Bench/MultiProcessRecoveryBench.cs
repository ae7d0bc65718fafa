using System.Diagnostics;
using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OrtZo.Distributed.Coordinator;
using OrtZo.Distributed.Hosting;
using OrtZo.Distributed.Journal;

namespace OrtZo.Bench;

/// <summary>
/// Recovery times with real processes and real failure detection: three `ortzo worker` processes in a Redis
/// cluster (redis-server on 127.0.0.1) and `ortzo train --distributed`. A worker without the coordinator is
/// killed with SIGKILL, later the worker that hosts the coordinator; the journal's timestamps give the stalls.
/// Needs redis-server and a Release build of the CLI (dotnet build -c Release src/OrtZo.Cli).
/// </summary>
internal static class MultiProcessRecoveryBench
{
    private const int Steps = 60, WorkerKillAfter = 15, CoordinatorKillAfter = 35;

    public static int Run(Options o)
    {
        string root = Options.FindRoot();
        string cli = Path.Combine(root, "src", "OrtZo.Cli", "bin", "Release", "net10.0", "OrtZo.Cli.dll");
        if (!File.Exists(cli)) throw new FileNotFoundException("build the CLI first: dotnet build -c Release src/OrtZo.Cli", cli);
        string dir = Directory.CreateTempSubdirectory("ortzo-bench-mp-").FullName;
        var processes = new List<Process>();
        try
        {
            int redisPort = SiloEndpoints.FreeLoopbackPair().SiloPort;
            processes.Add(Start("redis-server", dir, "redis", "--bind", "127.0.0.1", "--port", redisPort.ToString(), "--save", "", "--appendonly", "no"));
            Thread.Sleep(500);
            string cluster = $"redis:127.0.0.1:{redisPort}", journal = Path.Combine(dir, "journal"), data = Path.Combine(dir, "train.jsonl");
            File.WriteAllLines(data, File.ReadLines(Path.Combine(root, "data", "story-feelings", "train.jsonl")).Take(48));
            var workers = new List<(string Name, int Port, Process Process)>();
            for (int i = 0; i < 3; i++)
            {
                int port = SiloEndpoints.FreeLoopbackPair().SiloPort;
                var worker = Start("dotnet", dir, $"w{i}", cli, "worker", "--cluster", cluster, "--run", "rec", "--name", $"w{i}", "--port", port.ToString(),
                    "--threads", "1", "--journal", journal);
                workers.Add(($"w{i}", port, worker));
                processes.Add(worker);
                Thread.Sleep(1500);
            }
            var train = Start("dotnet", dir, "train", cli, "train", "--distributed", "--cluster", cluster, "--run", "rec", "--model", Path.Combine(root, "models", "stories260k"),
                "--data", data, "--task", "jsonl", "--steps", Steps.ToString(), "--batch", "6", "--micro-batches", "3", "--lr", "5e-4", "--seed", "7",
                "--out", Path.Combine(dir, "run"), "--checkpoint-every", "20", "--digest-every", "10", "--lease-ms", "2000");
            processes.Add(train);
            using var client = Client(ClusterSpec.Parse(cluster));
            var coordinator = client.Services.GetRequiredService<IClusterClient>().GetGrain<IRunCoordinator>("rec");
            var file = new FileRunJournal(journal);

            Await(() => Commits(file).Count >= WorkerKillAfter, train);
            int coordinatorPort = CoordinatorPort(coordinator);
            // kill mid-phase: just after a step is committed every worker takes a task of the next step's first phase
            int before = Commits(file).Count;
            Await(() => Commits(file).Count > before, train, pollMs: 2);
            Thread.Sleep(10);
            var victim = workers.First(w => w.Port != coordinatorPort);
            long workerKilled = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            victim.Process.Kill();
            Console.WriteLine($"killed worker {victim.Name} on port {victim.Port} mid-phase (coordinator on {coordinatorPort})");

            Await(() => Commits(file).Count >= CoordinatorKillAfter, train);
            coordinatorPort = CoordinatorPort(coordinator);
            long coordinatorKilled = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            workers.First(w => w.Port == coordinatorPort).Process.Kill();
            Console.WriteLine($"killed the coordinator's worker on port {coordinatorPort}");

            if (!train.WaitForExit(300_000)) throw new TimeoutException("the run did not finish in 5 minutes");
            var commits = Commits(file);
            var events = file.ReadAsync("rec").GetAwaiter().GetResult();
            var intervals = Enumerable.Range(5, WorkerKillAfter - 6).Select(t => (double)(commits[t] - commits[t - 1])).Order().ToArray();
            double typical = intervals[intervals.Length / 2];
            JsonObject Stall(long killedAt)
            {
                int step = Enumerable.Range(1, commits.Count - 1).First(t => commits[t] > killedAt);
                long next = events.Where(e => e.UnixMs > killedAt).Min(e => e.UnixMs);
                return new JsonObject
                {
                    ["step"] = step,
                    ["step_ms"] = commits[step] - commits[step - 1],
                    ["stall_ms"] = commits[step] - commits[step - 1] - typical,
                    ["first_journal_write_after_kill_ms"] = next - killedAt,
                    ["step_committed_after_kill_ms"] = commits[step] - killedAt,
                };
            }
            var result = new JsonObject
            {
                ["benchmark"] = "distributed-recovery-multiprocess",
                ["machine"] = $"{Environment.ProcessorCount} cores, {System.Runtime.InteropServices.RuntimeInformation.OSDescription}",
                ["command"] = "dotnet run -c Release --project bench/OrtZo.Bench -- dist-mp",
                ["setup"] = "3 ortzo worker processes (1 thread each), Redis clustering on 127.0.0.1, file journal, S=3, lease 2000 ms, FailureDetection.Default (probe 1 s, 3 missed, 1 vote)",
                ["typical_step_ms"] = typical,
                ["killed_worker"] = Stall(workerKilled),
                ["killed_coordinator_worker"] = Stall(coordinatorKilled),
                ["train_exit_code"] = train.ExitCode,
            };
            Console.WriteLine(result.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
            Directory.CreateDirectory(o.OutFolder);
            File.WriteAllText(Path.Combine(o.OutFolder, "cpu-distributed-recovery.json"), result.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
            return train.ExitCode;
        }
        finally
        {
            foreach (var p in processes)
            {
                try
                {
                    if (!p.HasExited) p.Kill(entireProcessTree: true);
                    p.WaitForExit(10_000);
                }
                catch (InvalidOperationException)
                {
                }
            }
            Directory.Delete(dir, true);
        }
    }

    private static Process Start(string program, string dir, string name, params string[] args)
    {
        var shell = new ProcessStartInfo("bash") { UseShellExecute = false };
        shell.ArgumentList.Add("-c");
        shell.ArgumentList.Add($"exec \"$@\" > '{Path.Combine(dir, name + ".log")}' 2>&1");
        shell.ArgumentList.Add("bash");
        shell.ArgumentList.Add(program);
        foreach (var a in args) shell.ArgumentList.Add(a);
        shell.Environment["NO_COLOR"] = "1";
        return Process.Start(shell)!;
    }

    private static IHost Client(ClusterSpec cluster)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        builder.UseOrleansClient(c => c.UseOrtZoCluster(cluster));
        var host = builder.Build();
        host.StartAsync().GetAwaiter().GetResult();
        return host;
    }

    // RuntimeIdentity reads S127.0.0.1:PORT:GENERATION
    private static int CoordinatorPort(IRunCoordinator coordinator)
    {
        string silo = coordinator.Status().GetAwaiter().GetResult().CoordinatorSilo;
        var parts = silo.TrimStart('S').Split(':');
        return IPEndPoint.Parse($"{parts[0]}:{parts[1]}").Port;
    }

    private static List<long> Commits(FileRunJournal journal)
    {
        try
        {
            return journal.ReadAsync("rec").GetAwaiter().GetResult().Where(e => e.Kind == RunEventKind.StepCommitted).OrderBy(e => e.Step).Select(e => e.UnixMs).ToList();
        }
        catch (IOException)
        {
            return [];
        }
    }

    private static void Await(Func<bool> condition, Process watched, int pollMs = 100)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            if (watched.HasExited) throw new InvalidOperationException($"the run exited early with {watched.ExitCode}");
            if (clock.Elapsed > TimeSpan.FromMinutes(3)) throw new TimeoutException("the run made no progress");
            Thread.Sleep(pollMs);
        }
    }
}
