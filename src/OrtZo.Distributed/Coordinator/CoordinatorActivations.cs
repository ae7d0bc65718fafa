namespace OrtZo.Distributed.Coordinator;

/// <summary>Counts coordinator activations in this process (a failover shows as a second one).</summary>
public sealed class CoordinatorActivations
{
    private int _count;

    public int Count => Volatile.Read(ref _count);

    internal void Increment() => Interlocked.Increment(ref _count);
}
