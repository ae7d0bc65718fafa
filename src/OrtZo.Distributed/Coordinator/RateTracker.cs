namespace OrtZo.Distributed.Coordinator;

/// <summary>Steps per second over the last few seconds of (step, time) samples.</summary>
internal sealed class RateTracker
{
    private const long WindowMs = 10_000;
    private readonly Queue<(long Step, long At)> _samples = new();

    public void Add(long step)
    {
        long now = Environment.TickCount64;
        _samples.Enqueue((step, now));
        while (_samples.Count > 2 && now - _samples.Peek().At > WindowMs) _samples.Dequeue();
    }

    public double StepsPerSecond
    {
        get
        {
            if (_samples.Count < 2) return 0;
            var first = _samples.Peek();
            var last = _samples.Last();
            double seconds = (last.At - first.At) / 1000.0;
            return seconds <= 0 ? 0 : (last.Step - first.Step) / seconds;
        }
    }
}
