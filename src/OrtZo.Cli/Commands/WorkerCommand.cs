using System.CommandLine;
using System.Net;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OrtZo.Distributed.Hosting;
using OrtZo.Distributed.Worker;

namespace OrtZo.Cli.Commands;

/// <summary>
/// <c>ortzo worker</c>: one device's worker of a distributed run. It joins the Orleans cluster as a silo (so
/// the run's coordinator may live in it too), waits for the run to be started, and works until the run is done.
/// </summary>
internal static class WorkerCommand
{
    public static Command Create()
    {
        var cluster = ClusterOption();
        var run = new Option<string?>("--run") { Description = "Id of the run to work for (default: the run started last in the cluster)" };
        var device = CommonOptions.Device();
        var threads = CommonOptions.Threads();
        var name = new Option<string?>("--name") { Description = "Worker id, unique in the run (default: HOST-PID-DEVICE)" };
        var address = new Option<string?>("--address") { Description = "IP address this silo listens on and advertises (default 127.0.0.1)" };
        var port = new Option<int>("--port")
        {
            Description = "Silo port (its gateway is port + 1); 0 = the primary's port when it is free on this machine, else any free port",
            DefaultValueFactory = _ => 0,
        };
        var journal = new Option<string?>("--journal") { Description = "Folder of the coordinator journal (default: Redis with redis: clusters, else ~/.ortzo/journal)" };
        var verbose = new Option<bool>("--verbose") { Description = "Log Orleans' own messages too" };
        var saveReplica = new Option<bool>("--save-replica") { Description = "Save this replica's final weights under <run>/replicas/ (to compare devices)" };
        var command = new Command("worker", "Work for a distributed run: evaluate micro-batches, keep a replica of the weights")
        {
            cluster, run, device, threads, name, address, port, journal, verbose, saveReplica,
        };
        command.SetAction(result =>
        {
            CommonOptions.Apply(result);
            var spec = ClusterSpec.Parse(result.GetValue(cluster)!);
            var endpoints = Endpoints(spec, result.GetValue(address), result.GetValue(port));
            string deviceName = result.GetValue(device)!;
            // a worker that cannot use its device must say so now, not when a run reaches it
            OrtZo.Runtime.ExecutionProviders.EnsureAvailable(CommonOptions.ParseDevice(deviceName));
            string id = result.GetValue(name) ?? $"{Environment.MachineName}-{Environment.ProcessId}-{deviceName.Replace(':', '-')}";
            var options = new WorkerOptions
            {
                RunId = result.GetValue(run),
                WorkerId = id,
                Device = deviceName,
                Threads = result.GetValue(threads),
                StopHostWhenDone = true,
                SaveReplica = result.GetValue(saveReplica),
            };
            using var host = WorkerHost.Build(spec, endpoints, options, result.GetValue(journal), result.GetValue(verbose) ? LogLevel.Information : LogLevel.Warning);
            bool primary = spec.Primary is { } p && p.Port == endpoints.SiloPort && p.Address.Equals(endpoints.Address);
            Console.WriteLine($"worker {id}: silo {endpoints.Address}:{endpoints.SiloPort}{(primary ? " (primary)" : "")}, gateway {endpoints.GatewayPort}, cluster {spec}, run {(options.RunId is { } r ? $"'{r}'" : "started last")}, pid {Environment.ProcessId}");
            host.Run();
            return Environment.ExitCode;
        });
        return command;
    }

    public static Option<string> ClusterOption() => new("--cluster")
    {
        Description = "localhost | dev:HOST:PORT (primary silo) | redis:HOST:PORT | postgres:CONNECTION-STRING",
        Required = true,
    };

    private static SiloEndpoints Endpoints(ClusterSpec spec, string? addressText, int port)
    {
        var address = addressText is null ? IPAddress.Loopback : IPAddress.Parse(addressText);
        if (port > 0) return new SiloEndpoints(address, port);
        return spec.Kind switch
        {
            ClusterKind.Localhost => SiloEndpoints.ForLocalhost(),
            ClusterKind.Development when IPAddress.IsLoopback(spec.Primary!.Address) => SiloEndpoints.ForPrimary(spec.Primary),
            _ => SiloEndpoints.FreeLoopbackPair() with { Address = address },
        };
    }
}
