namespace OrtZo.Tasks;

/// <summary>
/// One example tokenized for scoring: per candidate, the token row of prompt + candidate (already truncated
/// to the model's length) and MeZO's option length, the number of trailing tokens that are scored.
/// </summary>
/// <param name="Rows">Token ids per candidate.</param>
/// <param name="OptionLengths">Per candidate: len(tokens(prompt + candidate)) − len(tokens(prompt)), before truncation.</param>
/// <param name="Gold">Index of the correct candidate.</param>
/// <param name="Group">MultiRC's "paragraph/question" ids, else null.</param>
internal sealed record EncodedExample(int[][] Rows, int[] OptionLengths, int Gold, string? Group = null)
{
    public int CandidateCount => Rows.Length;

    /// <summary>
    /// Positions scored in row <paramref name="candidate"/>: its last OptionLengths tokens, never position 0
    /// (nothing predicts the first token). When truncation has eaten into the option, every position from 1
    /// on is scored, which is what MeZO's <c>[-option_len:]</c> slicing gives too.
    /// </summary>
    public (int Start, int Count) ScoredSpan(int candidate)
    {
        int length = Rows[candidate].Length;
        int start = Math.Max(1, length - OptionLengths[candidate]);
        return (start, Math.Max(0, length - start));
    }
}
