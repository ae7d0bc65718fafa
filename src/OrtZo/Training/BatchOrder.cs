using OrtZo.Engine;

namespace OrtZo.Training;

/// <summary>
/// Which training examples step t uses: positions t·B … t·B+B−1 of an endless sequence of epochs, each
/// epoch a permutation drawn from the run's master seed. A function of the step alone, so a resumed run
/// and a distributed replica need no sampler state.
/// </summary>
internal sealed class BatchOrder
{
    internal const int DataSeedIndex = (1 << 24) + 2;

    private readonly int _count;
    private readonly ulong _masterSeed;
    private readonly Dictionary<long, int[]> _epochs = new();

    public BatchOrder(int count, ulong masterSeed)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        _count = count;
        _masterSeed = masterSeed;
    }

    public void Fill(long step, Span<int> batch)
    {
        long first = checked(step * batch.Length);
        for (int i = 0; i < batch.Length; i++)
        {
            long p = first + i;
            batch[i] = Epoch(p / _count)[p % _count];
        }
    }

    private int[] Epoch(long epoch)
    {
        if (_epochs.TryGetValue(epoch, out var perm)) return perm;
        if (_epochs.Count > 2) _epochs.Clear();
        perm = new int[_count];
        for (int i = 0; i < _count; i++) perm[i] = i;
        ulong state = ZoNoise.StepSeed(_masterSeed, epoch, DataSeedIndex);
        for (int i = _count - 1; i > 0; i--)
        {
            int j = (int)(NextUInt64(ref state) % (ulong)(i + 1));
            (perm[i], perm[j]) = (perm[j], perm[i]);
        }
        _epochs[epoch] = perm;
        return perm;
    }

    // SplitMix64: a fixed, documented generator, so the data order never depends on the runtime's Random.
    private static ulong NextUInt64(ref ulong state)
    {
        ulong z = state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
