namespace OrtZo.Tasks;

/// <summary>What one row of a scoring batch holds.</summary>
/// <param name="Example">Index of the example in the list given to <see cref="ScoringBatcher"/>.</param>
/// <param name="Candidate">Which of its candidates the row scores.</param>
/// <param name="IsGold">Whether that candidate is the correct one.</param>
/// <param name="ScoredTokens">Number of label-mask ones in the row (the scoring head's divisor for the mean).</param>
internal readonly record struct ScoringRow(int Example, int Candidate, bool IsGold, int ScoredTokens);

/// <summary>The size of a filled batch: tensors are [Rows, SequenceLength], row-major.</summary>
internal readonly record struct ScoringBatchShape(int Rows, int SequenceLength)
{
    public int Elements => Rows * SequenceLength;
}

/// <summary>Which candidates of each example get a row.</summary>
internal enum CandidateRows
{
    /// <summary>Every candidate: evaluation, and training as classification.</summary>
    All,
    /// <summary>Only the correct one: MeZO's language-modelling loss (tasks trained without --train_as_classification).</summary>
    GoldOnly,
}
