using OrtZo.Session;
using OrtZo.Tasks;

namespace OrtZo.Training;

/// <summary>
/// Scores the micro-batches of a trainer's current step at whatever the weights hold now. A micro-batch is laid
/// out in the session only when it is scored, and again only when another one was scored in between, so a
/// replica that replays a step without scoring it costs nothing here.
/// </summary>
internal sealed class MicroBatchScorer
{
    private readonly ZoModel _model;
    private readonly TaskData _train;
    private readonly EncodedExample[] _encoded;
    private readonly ZoOptions _options;
    private readonly int[] _batch;
    private readonly ScoringRow[] _rows;
    private Prediction[] _predictions = [];
    private int _laidOut = -1;
    private ScoringSession? _session;
    private int _rowCount, _seq;

    public MicroBatchScorer(ZoModel model, TaskData train, EncodedExample[] encoded, ZoOptions options)
    {
        _model = model;
        _train = train;
        _encoded = encoded;
        _options = options;
        _batch = new int[options.BatchSize];
        int maxCandidates = encoded.Max(e => e.CandidateCount);
        _rows = new ScoringRow[options.BatchSize * maxCandidates];
        int longest = encoded.Max(e => e.Rows.Max(r => r.Length));
        int seq = Math.Min(model.MaxLength, (longest + ScoringBatcher.LengthMultiple - 1) / ScoringBatcher.LengthMultiple * ScoringBatcher.LengthMultiple);
        model.Session(_rows.Length, Math.Max(2, seq));   // sized once for the largest batch this run can form
    }

    /// <summary>Micro-batches per step.</summary>
    public int Count => _options.MicroBatches;

    /// <summary>Examples of the current step, in batch order.</summary>
    public ReadOnlySpan<int> Batch => _batch;

    /// <summary>Starts a step: its batch is <paramref name="order"/>'s for <paramref name="step"/>.</summary>
    public void Begin(long step, BatchOrder order)
    {
        order.Fill(step, _batch);
        _laidOut = -1;
    }

    public double Loss(int microBatch)
    {
        if (_laidOut != microBatch) LayOut(microBatch);
        _session!.Run(_rowCount, _seq);
        if (_options.Objective == ZoObjective.Accuracy)
        {
            if (_predictions.Length < _rowCount) _predictions = new Prediction[_rowCount];
            int n = TaskMetrics.Predict(_rows.AsSpan(0, _rowCount), _session.MeanLogprob(_rowCount), _predictions);
            return -TaskMetrics.Accuracy(_predictions.AsSpan(0, n));
        }
        return TaskLoss.Compute(_train.TrainAsClassification, _rows.AsSpan(0, _rowCount), _session.SumLogprob(_rowCount), _session.MeanLogprob(_rowCount));
    }

    private void LayOut(int microBatch)
    {
        var (start, end) = MicroBatches.Range(_batch.Length, Count, microBatch);
        ReadOnlySpan<int> selection = _batch.AsSpan(start, end - start);
        var which = _train.TrainAsClassification || _options.Objective == ZoObjective.Accuracy ? CandidateRows.All : CandidateRows.GoldOnly;
        var shape = ScoringBatcher.Measure(_encoded, selection, which, _model.MaxLength);
        _rowCount = shape.Rows;
        _seq = Math.Max(2, shape.SequenceLength);
        _session = _model.Session(_rowCount, _seq);
        ScoringBatcher.Fill(_encoded, selection, which, _model.MaxLength, _model.Tokenizer.PadId ?? 0,
            _session.InputIds(_rowCount, _seq), _session.AttentionMask(_rowCount, _seq), _session.LabelMask(_rowCount, _seq), _rows);
        _laidOut = microBatch;
    }
}
