using System.Diagnostics;
using System.Net.Sockets;
using System.Text.Json;
using NUnit.Framework;
using OrtZo.Distributed.Worker;

namespace OrtZo.Tests.Distributed;

/// <summary>
/// `ortzo` child processes of one test, each logging to its own file (a killed process can block no pipe),
/// all killed at disposal whatever happened.
/// </summary>
internal sealed class CliProcesses(string folder) : IDisposable
{
    private readonly List<Process> _processes = new();

    public Process Start(string name, params string[] args)
    {
        var shell = new ProcessStartInfo("bash") { UseShellExecute = false };
        shell.ArgumentList.Add("-c");
        shell.ArgumentList.Add($"exec dotnet exec \"$@\" > '{Log(name)}' 2>&1");   // exec: the PID is the worker's own
        shell.ArgumentList.Add("bash");
        shell.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "OrtZo.Cli.dll"));
        foreach (var a in args) shell.ArgumentList.Add(a);
        shell.Environment["NO_COLOR"] = "1";
        shell.Environment["COLUMNS"] = "160";
        var p = Process.Start(shell)!;
        _processes.Add(p);
        return p;
    }

    public string Log(string name) => Path.Combine(folder, name + ".log");

    public static bool Listening(int port)
    {
        try
        {
            using var client = new TcpClient();
            client.Connect("127.0.0.1", port);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    public static void Wait(Func<bool> condition, TimeSpan limit, string what, Process? watched = null)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            if (watched is { HasExited: true }) Assert.Fail($"waiting for {what}: a process exited with {watched.ExitCode}");
            if (clock.Elapsed > limit) Assert.Fail($"waited {limit.TotalSeconds:F0} s for {what}");
            Thread.Sleep(100);
        }
    }

    /// <summary>The replica reports workers leave in the run folder when they finish.</summary>
    public static Dictionary<string, ReplicaResult> Replicas(string runDirectory)
    {
        string folder = Path.Combine(runDirectory, "replicas");
        if (!Directory.Exists(folder)) return new();
        return Directory.GetFiles(folder, "*.json")
            .Select(f => JsonSerializer.Deserialize<ReplicaResult>(File.ReadAllText(f))!)
            .ToDictionary(r => r.Worker);
    }

    public static string[] TrainArgs(string cluster, string run, string data, string outDir, long steps) =>
    [
        "train", "--distributed", "--cluster", cluster, "--run", run, "--model", TestPaths.Stories260k, "--data", data, "--task", "jsonl",
        "--steps", steps.ToString(), "--batch", "6", "--micro-batches", "3", "--lr", "5e-4", "--seed", "7", "--out", outDir,
        "--checkpoint-every", "10", "--digest-every", "4", "--lease-ms", "2000",
    ];

    public void Dispose()
    {
        foreach (var p in _processes)
        {
            try
            {
                if (!p.HasExited) p.Kill(entireProcessTree: true);
                p.WaitForExit(10_000);
            }
            catch (InvalidOperationException)
            {
            }
            p.Dispose();
        }
    }
}
