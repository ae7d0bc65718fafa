namespace OrtZo.Training;

/// <summary>Evaluates one micro-batch of the current step at whatever the weights hold now.</summary>
internal interface IMicroBatchScorer
{
    /// <summary>Micro-batches per step.</summary>
    int Count { get; }

    double Loss(int microBatch);
}

/// <summary>
/// Where the losses of a step's probe points come from. The trainer's own source scores every micro-batch
/// and averages; a distributed replica's source scores the micro-batches it is handed and waits for the
/// others', or returns logged losses when it catches up — the weight operations around each call are the
/// same either way, which is what keeps every replica bit-identical.
/// </summary>
internal interface IStepLossSource
{
    /// <param name="probe">Index of the probe point within the step (0, 1, … in the order ZoStep visits them).</param>
    double Loss(long step, int probe, IMicroBatchScorer scorer);

    /// <summary>
    /// Called once a two-point step has visited all its probe points, before any loss is used; a source that
    /// returned provisional values (query-parallel workers) writes the final ones into <paramref name="losses"/>.
    /// </summary>
    void Resolve(long step, Span<double> losses) { }
}

/// <summary>The single-process source: every micro-batch scored here, in order.</summary>
internal sealed class LocalStepLosses : IStepLossSource
{
    private double[] _buffer = [];

    public double Loss(long step, int probe, IMicroBatchScorer scorer)
    {
        if (_buffer.Length != scorer.Count) _buffer = new double[scorer.Count];
        for (int k = 0; k < _buffer.Length; k++) _buffer[k] = scorer.Loss(k);
        return MicroBatches.Mean(_buffer);
    }
}
