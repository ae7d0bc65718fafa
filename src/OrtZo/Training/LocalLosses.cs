using OrtZo.Engine;

namespace OrtZo.Training;

/// <summary>The single-process loss source: every micro-batch of the step scored here, in order, and averaged.</summary>
internal sealed class LocalLosses(MicroBatchScorer scorer) : IStepLosses
{
    private readonly double[] _buffer = new double[scorer.Count];

    public double Loss(long step, int probe)
    {
        for (int k = 0; k < _buffer.Length; k++) _buffer[k] = scorer.Loss(k);
        return MicroBatches.Mean(_buffer);
    }
}
