using Microsoft.Extensions.Logging;
using OrtZo.Distributed.Coordinator;

namespace OrtZo.Distributed.Worker;

/// <summary>
/// Blocking, retried calls to the coordinator from a worker's step thread. Any failure — a timeout, the
/// coordinator's silo dying, a gateway gone — is retried with backoff until the worker is stopped: every
/// coordinator method is idempotent, so a call that did land and is sent again changes nothing.
/// </summary>
internal sealed class CoordinatorCalls(IRunCoordinator coordinator, ILogger log, CancellationToken stop)
{
    public long Calls { get; private set; }
    public long Retries { get; private set; }

    public T Call<T>(Func<IRunCoordinator, Task<T>> call)
    {
        for (int attempt = 0; ; attempt++)
        {
            stop.ThrowIfCancellationRequested();
            try
            {
                Calls++;
                return call(coordinator).WaitAsync(stop).GetAwaiter().GetResult();
            }
            catch (Exception e) when (!stop.IsCancellationRequested)
            {
                Retries++;
                if (attempt % 10 == 0) log.LogInformation("coordinator call failed ({Error}); retrying", e.GetType().Name + ": " + e.Message);
                Sleep(Math.Min(1000, 25 << Math.Min(attempt, 6)));
            }
        }
    }

    public void Call(Func<IRunCoordinator, Task> call) => Call(async c => { await call(c); return true; });

    public void Sleep(int milliseconds)
    {
        if (stop.WaitHandle.WaitOne(milliseconds)) stop.ThrowIfCancellationRequested();
    }
}
