using OrtZo.Session;
using OrtZo.Tasks;
using OrtZo.Engine;

namespace OrtZo.Tests.Training;

/// <summary>The training loss of one fixed batch of a task at the model's current weights.</summary>
internal sealed class ModelProbe : IStepLosses
{
    private readonly ScoringSession _session;
    private readonly ScoringRow[] _rows;
    private readonly ScoringBatchShape _shape;
    private readonly bool _classification;

    public ModelProbe(ZoModel model, TaskData data, int[] examples)
    {
        var encoded = model.Encode(data);
        _classification = data.TrainAsClassification;
        var which = _classification ? CandidateRows.All : CandidateRows.GoldOnly;
        _shape = ScoringBatcher.Measure(encoded, examples, which, model.MaxLength);
        _session = model.Session(_shape.Rows, _shape.SequenceLength);
        _rows = new ScoringRow[_shape.Rows];
        ScoringBatcher.Fill(encoded, examples, which, model.MaxLength, model.Tokenizer.PadId ?? 0,
            _session.InputIds(_shape.Rows, _shape.SequenceLength), _session.AttentionMask(_shape.Rows, _shape.SequenceLength),
            _session.LabelMask(_shape.Rows, _shape.SequenceLength), _rows);
    }

    public double Loss(long step, int probe)
    {
        _session.Run(_shape.Rows, _shape.SequenceLength);
        return TaskLoss.Compute(_classification, _rows, _session.SumLogprob(_shape.Rows), _session.MeanLogprob(_shape.Rows));
    }
}
