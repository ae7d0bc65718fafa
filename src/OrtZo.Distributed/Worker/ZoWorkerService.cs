using System.Text.Json;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OrtZo.Distributed.Coordinator;
using OrtZo.Distributed.Protocol;
using OrtZo.Runtime;

namespace OrtZo.Distributed.Worker;

/// <summary>
/// One device's worker: owns the ORT session and a replica of the weights, and runs the run's steps one
/// after the other. It joins (spec hash checked), starts from the newest checkpoint, replays the log without
/// forwards, then evaluates the micro-batches it is handed. Told to reload (a diverged digest), it drops the
/// replica and joins again. Steps run on a thread of their own, because ZoStep calls the loss probe
/// synchronously and the probe waits on the coordinator.
/// </summary>
internal sealed class ZoWorkerService(IGrainFactory grains, WorkerOptions options, ILogger<ZoWorkerService> log, IHostApplicationLifetime lifetime)
    : BackgroundService
{
    public ReplicaResult? Result { get; private set; }

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.Factory.StartNew(() => Run(stoppingToken), stoppingToken, TaskCreationOptions.LongRunning, TaskScheduler.Default);

    private void Run(CancellationToken stop)
    {
        try
        {
            Result = RunToEnd(stop);
            log.LogInformation("worker {Worker}: run done at step {Steps}, digest {Digest}", options.WorkerId, Result.Steps, Result.Digest[..16]);
            options.Hooks?.Finished?.Invoke(Result);
            if (options.StopHostWhenDone)
            {
                // stay a moment, so the coordinator (which may live in this silo) can still tell clients the run is done
                stop.WaitHandle.WaitOne(options.LingerWhenDone);
                lifetime.StopApplication();
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
        catch (Exception e)
        {
            log.LogError(e, "worker {Worker} failed", options.WorkerId);
            if (options.StopHostWhenDone)
            {
                Environment.ExitCode = 1;
                lifetime.StopApplication();
            }
            throw;
        }
    }

    private ReplicaResult RunToEnd(CancellationToken stop)
    {
        var rpc = new RetriedCalls(log, stop);
        string runId = options.RunId ?? AwaitAnnouncedRun(rpc);
        var coordinator = grains.GetGrain<IRunCoordinator>(runId);
        var spec = AwaitSpec(rpc, coordinator, runId);
        var inputs = RunInputs.Load(spec);
        var device = ZoDevice.Parse(options.Device);
        long evaluated = 0, replayed = 0;
        long total = inputs.Options.TotalSteps;
        for (int joins = 1; ; joins++)
        {
            var join = rpc.Call(() => coordinator.Join(new WorkerHello(options.WorkerId, options.Device, inputs.SpecHash)));
            if (!join.Accepted) throw new WorkerRefusedException($"run '{runId}' refused worker {options.WorkerId}: {join.Reason}");
            using var model = ZoModel.Open(spec.ModelPath, device, options.Threads);
            if (join.Checkpoint is { } mark) CheckpointFiles.Verify(mark);
            using var trainer = join.Checkpoint is { } m
                ? ZoTrainer.Resume(m.Folder, model, inputs.Train, inputs.Options)
                : new ZoTrainer(model, inputs.Train, inputs.Options);
            var source = new ReplicaLossSource(rpc, coordinator, options.WorkerId, options.Hooks, options.MaxPollInterval, trainer.MicroBatches);
            log.LogInformation("worker {Worker} joined run {Run} at step {Step} (head {Head})", options.WorkerId, runId, trainer.StepIndex, join.Head);
            options.Hooks?.Joined?.Invoke(options.WorkerId, trainer.StepIndex);
            try
            {
                while (trainer.StepIndex < total)
                {
                    trainer.Step(source);
                    long steps = trainer.StepIndex;
                    options.Hooks?.AfterStep?.Invoke(options.WorkerId, steps, model);
                    bool digestDue = spec.DigestEvery > 0 && (steps % spec.DigestEvery == 0 || steps == total);
                    string? digest = digestDue ? trainer.WeightsDigest() : null;
                    var reply = rpc.Call(() => coordinator.StepDone(new StepDoneReport(options.WorkerId, steps, digest)));
                    if (reply.Reload) throw new ReloadRequiredException($"weights digest after step {steps} disagrees with the run's");
                    if (reply.WriteCheckpoint) WriteCheckpoint(rpc, coordinator, spec, trainer, model, steps, total);
                }
                AwaitDone(rpc, coordinator, spec, trainer, model, total);
                if (options.SaveReplica) model.Save(Path.Combine(spec.RunDirectory, "replicas", FileName(options.WorkerId)));
                var result = new ReplicaResult(options.WorkerId, trainer.StepIndex, trainer.WeightsDigest(),
                    evaluated + source.MicroBatchesEvaluated, replayed + source.StepsReplayed, joins);
                WriteReport(spec.RunDirectory, result);
                return result;
            }
            catch (ReloadRequiredException e)
            {
                evaluated += source.MicroBatchesEvaluated;
                replayed += source.StepsReplayed;
                log.LogWarning("worker {Worker}: {Reason}; reloading", options.WorkerId, e.Message);
            }
        }
    }

    private string AwaitAnnouncedRun(RetriedCalls rpc)
    {
        var registry = grains.GetGrain<IRunRegistry>(RunRegistryGrain.Key);
        for (int attempt = 0; ; attempt++)
        {
            if (rpc.Call(() => registry.Latest()) is { } runId) return runId;
            if (attempt % 50 == 0) log.LogInformation("worker {Worker}: waiting for a run to be started", options.WorkerId);
            rpc.Sleep(200);
        }
    }

    private RunSpec AwaitSpec(RetriedCalls rpc, IRunCoordinator coordinator, string runId)
    {
        for (int attempt = 0; ; attempt++)
        {
            if (rpc.Call(() => coordinator.GetSpec()) is { } spec) return spec;
            if (attempt % 50 == 0) log.LogInformation("worker {Worker}: waiting for run {Run} to be started", options.WorkerId, runId);
            rpc.Sleep(200);
        }
    }

    // The last step is committed when a replica asks for the step after it; the run is done once the final
    // checkpoint is recorded. If its writer died, the job passes to a replica that asks again.
    private void AwaitDone(RetriedCalls rpc, IRunCoordinator coordinator, RunSpec spec, ZoTrainer trainer, ZoModel model, long total)
    {
        while (true)
        {
            var d = rpc.Call(() => coordinator.Poll(new WorkerPosition(options.WorkerId, total, 0)));
            if (d.Kind == DirectiveKind.Done) return;
            if (d.Kind != DirectiveKind.Wait) throw new ReloadRequiredException($"coordinator answered {d.Kind} after the last step");
            var reply = rpc.Call(() => coordinator.StepDone(new StepDoneReport(options.WorkerId, total, null)));
            if (reply.WriteCheckpoint) WriteCheckpoint(rpc, coordinator, spec, trainer, model, total, total);
            rpc.Sleep(200);
        }
    }

    private static void WriteCheckpoint(RetriedCalls rpc, IRunCoordinator coordinator, RunSpec spec, ZoTrainer trainer, ZoModel model, long steps, long total)
    {
        var written = CheckpointFiles.Write(trainer, spec.RunDirectory, steps);
        if (steps == total) model.Save(Path.Combine(spec.RunDirectory, "final"));
        rpc.Call(() => coordinator.RecordCheckpoint(written));
    }

    private void WriteReport(string runDirectory, ReplicaResult result)
    {
        string folder = Path.Combine(runDirectory, "replicas");
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, FileName(options.WorkerId) + ".json"), JsonSerializer.Serialize(result) + "\n");
    }

    private static string FileName(string worker) => string.Concat(worker.Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' ? c : '_'));
}
