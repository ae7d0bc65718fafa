namespace OrtZo.Engine;

/// <summary>
/// A small fixed pool for the weight passes: the caller and N−1 dedicated threads pull work items from a
/// shared counter. Unlike Parallel.For it allocates nothing per call (the body delegate is cached by the
/// caller), and its idle threads block in the kernel without spinning: a spinning waiter would steal a core
/// from ORT's forward, which runs right after every pass on the same cores.
/// </summary>
internal sealed class KernelThreads : IDisposable
{
    private readonly Thread[] _threads;
    private readonly AutoResetEvent[] _start;
    private readonly ManualResetEventSlim _done = new(false, spinCount: 0);
    private Action<int, int>? _body;
    private int _next, _count, _running;
    private volatile bool _stopping;
    private Exception? _error;

    public KernelThreads(int threadCount)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(threadCount, 1);
        _threads = new Thread[threadCount - 1];
        _start = new AutoResetEvent[threadCount - 1];
        for (int i = 0; i < _threads.Length; i++)
        {
            int worker = i + 1;
            _start[i] = new AutoResetEvent(false);
            _threads[i] = new Thread(() => Loop(worker)) { IsBackground = true, Name = $"ortzo-kernel-{worker}" };
            _threads[i].Start();
        }
    }

    /// <summary>Caller thread plus the pool's threads.</summary>
    public int Count => _threads.Length + 1;

    /// <summary>Runs body(item, worker) for item in [0, count); worker in [0, Count) identifies per-thread scratch.</summary>
    public void For(int count, Action<int, int> body)
    {
        if (count == 0) return;
        _body = body;
        _error = null;
        _next = 0;
        _count = count;
        _running = _threads.Length;
        _done.Reset();
        foreach (var s in _start) s.Set();
        try
        {
            Work(0);
        }
        catch (Exception e)
        {
            _error ??= e;
        }
        if (_threads.Length > 0) _done.Wait();
        _body = null;
        if (_error is { } error) throw new AggregateException("a weight-pass kernel failed", error);
    }

    private void Work(int worker)
    {
        int i;
        while ((i = Interlocked.Increment(ref _next) - 1) < _count) _body!(i, worker);
    }

    private void Loop(int worker)
    {
        var start = _start[worker - 1];
        while (true)
        {
            start.WaitOne();
            if (_stopping) return;
            try
            {
                Work(worker);
            }
            catch (Exception e)
            {
                Interlocked.CompareExchange(ref _error, e, null);
                Volatile.Write(ref _next, int.MaxValue / 2);
            }
            if (Interlocked.Decrement(ref _running) == 0) _done.Set();
        }
    }

    public void Dispose()
    {
        _stopping = true;
        foreach (var s in _start) s.Set();
        foreach (var t in _threads) t.Join();
        foreach (var s in _start) s.Dispose();
        _done.Dispose();
    }
}
