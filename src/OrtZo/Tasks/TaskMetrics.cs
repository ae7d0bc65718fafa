namespace OrtZo.Tasks;

/// <summary>An example's predicted and correct candidate.</summary>
internal readonly record struct Prediction(int Example, int Predicted, int Gold)
{
    public bool IsCorrect => Predicted == Gold;
}

/// <summary>
/// MeZO's evaluation (large_models/run.py, one_step_pred; metrics.py): the prediction is the candidate with
/// the highest mean log-prob over its option tokens, and the metric is accuracy for every task here, MultiRC
/// included (MeZO scores each answer as its own example). SuperGLUE's own MultiRC metrics are offered beside it.
/// </summary>
internal static class TaskMetrics
{
    /// <summary>
    /// One prediction per example in <paramref name="rows"/> (rows holding every candidate, each example's
    /// together), written to <paramref name="predictions"/>; returns how many. Argmax as numpy's: the first of
    /// equal maxima, and a NaN wins.
    /// </summary>
    public static int Predict(ReadOnlySpan<ScoringRow> rows, ReadOnlySpan<float> meanLogprob, Span<Prediction> predictions)
    {
        if (rows.Length != meanLogprob.Length)
        {
            throw new ArgumentException($"{rows.Length} rows but {meanLogprob.Length} scores.", nameof(meanLogprob));
        }
        int count = 0;
        for (int start = 0; start < rows.Length;)
        {
            int end = TaskLoss.EndOfExample(rows, start);
            int best = start, gold = -1;
            for (int r = start; r < end; r++)
            {
                if (rows[r].IsGold)
                {
                    gold = rows[r].Candidate;
                }
                if (double.IsNaN(meanLogprob[best]))
                {
                    continue;
                }
                if (double.IsNaN(meanLogprob[r]) || meanLogprob[r] > meanLogprob[best])
                {
                    best = r;
                }
            }
            if (count >= predictions.Length)
            {
                throw new ArgumentException("The predictions buffer is shorter than the number of examples.", nameof(predictions));
            }
            predictions[count++] = new Prediction(rows[start].Example, rows[best].Candidate, gold);
            start = end;
        }
        return count;
    }

    /// <summary>Fraction of predictions that are correct (0 for none).</summary>
    public static double Accuracy(ReadOnlySpan<Prediction> predictions)
    {
        int correct = 0;
        foreach (Prediction p in predictions)
        {
            correct += p.IsCorrect ? 1 : 0;
        }
        return predictions.Length == 0 ? 0 : (double)correct / predictions.Length;
    }

    /// <summary>
    /// SuperGLUE's MultiRC metrics (not what MeZO reports): exact match, the fraction of questions whose
    /// answers are all judged right, and F1a, the binary F1 of "Yes" (candidate 1) over all answers.
    /// </summary>
    public static (double ExactMatch, double F1a) MultiRc(ReadOnlySpan<Prediction> predictions, IReadOnlyList<EncodedExample> examples)
    {
        var questionAllRight = new Dictionary<string, bool>(StringComparer.Ordinal);
        int truePositives = 0, predictedYes = 0, actualYes = 0;
        foreach (Prediction p in predictions)
        {
            string group = examples[p.Example].Group
                ?? throw new ArgumentException($"Example {p.Example} has no MultiRC question id.", nameof(examples));
            questionAllRight[group] = questionAllRight.GetValueOrDefault(group, true) && p.IsCorrect;
            predictedYes += p.Predicted == 1 ? 1 : 0;
            actualYes += p.Gold == 1 ? 1 : 0;
            truePositives += p.Predicted == 1 && p.Gold == 1 ? 1 : 0;
        }
        double exactMatch = questionAllRight.Count == 0 ? 0 : questionAllRight.Values.Count(v => v) / (double)questionAllRight.Count;
        double f1a = predictedYes + actualYes == 0 ? 0 : 2.0 * truePositives / (predictedYes + actualYes);
        return (exactMatch, f1a);
    }
}
