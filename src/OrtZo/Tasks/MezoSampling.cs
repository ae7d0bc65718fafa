namespace OrtZo.Tasks;

/// <summary>
/// Which examples MeZO uses (large_models/tasks.py and run.py), as indices into a split:
/// <list type="bullet">
/// <item><c>sample_subset(split, seed, num)</c>: under <c>temp_seed(seed)</c>, i.e. <c>np.random.seed(seed)</c>,
/// the first <c>num</c> entries of <c>np.random.permutation(len(split))</c>; the test set is this on the
/// validation split with num = num_eval;</item>
/// <item><c>sample_train_sets(num_train, num_dev, seed)</c> is <c>sample_subset</c> on the train split with
/// num = num_train + num_dev; run.py then takes the last num_dev as dev and the rest as train.</item>
/// </list>
/// temp_seed restores numpy's global state afterwards, so each draw depends on its seed alone. mezo.sh uses
/// the same seed (SEED, default 0) for train/dev and test, with 1000/500/1000 (CB and Copa: dev 100).
/// </summary>
internal static class MezoSampling
{
    /// <summary><c>sample_subset</c>: <paramref name="count"/> indices of a split of <paramref name="n"/> (all n, shuffled, when count ≥ n).</summary>
    public static int[] Subset(int n, int count, uint seed)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        int[] permutation = new NumpyLegacyRandom(seed).Permutation(n);
        return count >= n ? permutation : permutation[..count];
    }

    /// <summary>
    /// <c>sample_train_sets</c> plus run.py's split. When the split is smaller than numTrain + numDev, every
    /// example is drawn and dev still takes the last numDev (train may come out short or empty), as in MeZO.
    /// numDev = 0 means no dev set, where MeZO's <c>[:-0]</c> slicing would empty the train set.
    /// </summary>
    public static (int[] Train, int[] Dev) TrainAndDev(int n, int numTrain, int numDev, uint seed)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(numTrain);
        ArgumentOutOfRangeException.ThrowIfNegative(numDev);
        int[] drawn = Subset(n, numTrain + numDev, seed);
        int devCount = Math.Min(numDev, drawn.Length);
        return (drawn[..^devCount], drawn[^devCount..]);
    }
}
