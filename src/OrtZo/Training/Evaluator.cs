using OrtZo.Tasks;

using OrtZo;
namespace OrtZo.Training;

/// <summary>MeZO's evaluation: every candidate scored, prediction = highest mean log-prob, plus the task's loss.</summary>
internal static class Evaluator
{
    public static EvalResult Evaluate(ZoModel model, TaskData data, int batchSize, Action<int>? progress = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        var encoded = model.Encode(data);
        var predictions = new ExamplePrediction[encoded.Length];
        int correct = 0;
        double classificationLoss = 0, goldLogprob = 0;
        long goldTokens = 0;
        var selection = new int[Math.Min(batchSize, Math.Max(1, encoded.Length))];
        for (int start = 0; start < encoded.Length; start += batchSize)
        {
            int n = Math.Min(batchSize, encoded.Length - start);
            for (int i = 0; i < n; i++) selection[i] = start + i;
            var sel = selection.AsSpan(0, n);
            var shape = ScoringBatcher.Measure(encoded, sel, CandidateRows.All, model.MaxLength);
            var session = model.Session(shape.Rows, Math.Max(2, shape.SequenceLength));
            var rows = new ScoringRow[shape.Rows];
            ScoringBatcher.Fill(encoded, sel, CandidateRows.All, model.MaxLength, model.Tokenizer.PadId ?? 0,
                session.InputIds(shape.Rows, shape.SequenceLength), session.AttentionMask(shape.Rows, shape.SequenceLength),
                session.LabelMask(shape.Rows, shape.SequenceLength), rows);
            session.Run(shape.Rows, shape.SequenceLength);
            var sum = session.SumLogprob(shape.Rows);
            var mean = session.MeanLogprob(shape.Rows);
            if (data.TrainAsClassification) classificationLoss += TaskLoss.Classification(rows, mean) * n;
            var preds = new Prediction[n];
            int count = TaskMetrics.Predict(rows, mean, preds);
            for (int p = 0; p < count; p++)
            {
                var pr = preds[p];
                var candidates = new List<CandidateScore>();
                for (int r = 0; r < rows.Length; r++)
                {
                    if (rows[r].Example != pr.Example) continue;
                    candidates.Add(new CandidateScore(sum[r], mean[r], rows[r].ScoredTokens));
                    if (rows[r].IsGold)
                    {
                        goldLogprob += sum[r];
                        goldTokens += rows[r].ScoredTokens;
                    }
                }
                predictions[pr.Example] = new ExamplePrediction(pr.Gold, pr.Predicted, candidates);
                if (pr.IsCorrect) correct++;
            }
            progress?.Invoke(start + n);
        }
        double loss = data.TrainAsClassification
            ? classificationLoss / Math.Max(1, encoded.Length)
            : goldTokens == 0 ? 0 : -goldLogprob / goldTokens;
        return new EvalResult(encoded.Length == 0 ? 0 : (double)correct / encoded.Length, loss, encoded.Length, predictions);
    }
}
