namespace OrtZo.Training;

/// <summary>
/// How a step's batch splits into micro-batches and how their losses combine. The split and the mean belong
/// to the run (ZoOptions.MicroBatches), never to how many machines evaluate them, so a step's loss is the same
/// whether one process or many computed the pieces.
/// </summary>
internal static class MicroBatches
{
    /// <summary>Positions [start, end) of micro-batch <paramref name="k"/> within a batch of <paramref name="batchSize"/> examples.</summary>
    public static (int Start, int End) Range(int batchSize, int count, int k)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(count, batchSize);
        if ((uint)k >= (uint)count) throw new ArgumentOutOfRangeException(nameof(k), $"micro-batch {k} of {count}");
        // floor(k·B/S) boundaries: sizes differ by at most one, larger pieces last
        return ((int)((long)k * batchSize / count), (int)((long)(k + 1) * batchSize / count));
    }

    /// <summary>
    /// The step loss: the mean of the micro-batch losses, summed left to right in micro-batch order, in double.
    /// Starting from the first loss rather than 0 keeps one micro-batch exactly the whole-batch loss.
    /// </summary>
    public static double Mean(ReadOnlySpan<double> losses)
    {
        if (losses.IsEmpty) throw new ArgumentException("no micro-batch losses", nameof(losses));
        double sum = losses[0];
        for (int k = 1; k < losses.Length; k++) sum += losses[k];
        return losses.Length == 1 ? sum : sum / losses.Length;
    }
}
