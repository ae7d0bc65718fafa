using Microsoft.Extensions.Logging;

namespace OrtZo.Distributed.Worker;

/// <summary>
/// Blocking, retried grain calls from a worker's step thread. Any failure — a timeout, the coordinator's silo
/// dying, a gateway gone — is retried with backoff until the worker is stopped: every coordinator and registry
/// method is idempotent, so a call that did land and is sent again changes nothing.
/// </summary>
internal sealed class RetriedCalls(ILogger log, CancellationToken stop)
{
    public T Call<T>(Func<Task<T>> call)
    {
        for (int attempt = 0; ; attempt++)
        {
            stop.ThrowIfCancellationRequested();
            try
            {
                return call().WaitAsync(stop).GetAwaiter().GetResult();
            }
            catch (Exception e) when (!stop.IsCancellationRequested)
            {
                if (attempt % 10 == 0) log.LogInformation("grain call failed ({Error}); retrying", e.GetType().Name + ": " + e.Message);
                Sleep(Math.Min(1000, 25 << Math.Min(attempt, 6)));
            }
        }
    }

    public void Call(Func<Task> call) => Call(async () => { await call(); return true; });

    public void Sleep(int milliseconds)
    {
        if (stop.WaitHandle.WaitOne(milliseconds)) stop.ThrowIfCancellationRequested();
    }
}
