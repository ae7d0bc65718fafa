using OrtZo.Distributed.Protocol;

namespace OrtZo.Distributed.Coordinator;

/// <summary>What the coordinator last heard from a worker (soft state, for leases, digests and the progress view).</summary>
internal sealed class WorkerTracker(string name)
{
    private readonly RateTracker _rate = new();

    public string Name { get; } = name;
    public string Device { get; set; } = "?";
    public long Step { get; private set; }
    public int Phase { get; private set; }
    public long LastSeen { get; private set; } = Environment.TickCount64;
    public long Tasks { get; set; }

    public void See(long step, int phase)
    {
        if (step != Step) _rate.Add(step);
        (Step, Phase, LastSeen) = (step, phase, Environment.TickCount64);
    }

    public WorkerStatus Status(string worker, bool quarantined) =>
        new(worker, Device, Step, Phase, (Environment.TickCount64 - LastSeen) / 1000.0, _rate.StepsPerSecond, quarantined, Tasks);
}
