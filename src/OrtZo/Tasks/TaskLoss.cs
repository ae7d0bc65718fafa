namespace OrtZo.Tasks;

/// <summary>
/// MeZO's training losses (large_models/utils.py, forward_wrap_with_option_len), from the scoring graph's
/// per-row outputs, computed in double.
/// </summary>
internal static class TaskLoss
{
    /// <summary>The loss MeZO trains the task with: <see cref="Classification"/> or <see cref="LanguageModel"/>.</summary>
    public static double Compute(bool trainAsClassification, ReadOnlySpan<ScoringRow> rows, ReadOnlySpan<float> sumLogprob, ReadOnlySpan<float> meanLogprob) =>
        trainAsClassification ? Classification(rows, meanLogprob) : LanguageModel(rows, sumLogprob);

    /// <summary>
    /// --train_as_classification: per example, cross-entropy of the gold candidate against all candidates, with
    /// each candidate's length-normalised log-likelihood (mean log-prob of its option tokens) as its logit;
    /// averaged over examples. Rows must hold every candidate, each example's rows together.
    /// </summary>
    public static double Classification(ReadOnlySpan<ScoringRow> rows, ReadOnlySpan<float> meanLogprob)
    {
        RequireSameLength(rows, meanLogprob);
        double total = 0;
        int examples = 0;
        for (int start = 0; start < rows.Length;)
        {
            int end = EndOfExample(rows, start);
            double max = double.NegativeInfinity;
            double gold = 0;
            bool hasGold = false;
            for (int r = start; r < end; r++)
            {
                max = Math.Max(max, meanLogprob[r]);
                if (rows[r].IsGold)
                {
                    gold = meanLogprob[r];
                    hasGold = true;
                }
            }
            if (!hasGold)
            {
                throw new ArgumentException($"Example {rows[start].Example} has no row for its correct candidate.", nameof(rows));
            }
            double sumExp = 0;
            for (int r = start; r < end; r++)
            {
                sumExp += Math.Exp(meanLogprob[r] - max);
            }
            total += max + Math.Log(sumExp) - gold;
            examples++;
            start = end;
        }
        return examples == 0 ? 0 : total / examples;
    }

    /// <summary>
    /// Without --train_as_classification (MeZO's COPA): token-level cross-entropy over the option tokens of the
    /// gold rows, averaged over all those tokens in the batch: −Σ sum_logprob / Σ scored tokens. Other rows are
    /// ignored, so the batch may hold every candidate or the gold ones only.
    /// </summary>
    public static double LanguageModel(ReadOnlySpan<ScoringRow> rows, ReadOnlySpan<float> sumLogprob)
    {
        RequireSameLength(rows, sumLogprob);
        double logprob = 0;
        long tokens = 0;
        for (int r = 0; r < rows.Length; r++)
        {
            if (rows[r].IsGold)
            {
                logprob += sumLogprob[r];
                tokens += rows[r].ScoredTokens;
            }
        }
        return tokens == 0 ? 0 : -logprob / tokens;
    }

    /// <summary>First row after the run of rows that share <c>rows[start].Example</c>.</summary>
    internal static int EndOfExample(ReadOnlySpan<ScoringRow> rows, int start)
    {
        int end = start + 1;
        while (end < rows.Length && rows[end].Example == rows[start].Example)
        {
            end++;
        }
        return end;
    }

    private static void RequireSameLength<T>(ReadOnlySpan<ScoringRow> rows, ReadOnlySpan<T> values)
    {
        if (rows.Length != values.Length)
        {
            throw new ArgumentException($"{rows.Length} rows but {values.Length} scores.", nameof(values));
        }
    }
}
