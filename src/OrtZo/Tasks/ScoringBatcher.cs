namespace OrtZo.Tasks;

/// <summary>
/// Lays encoded examples out as the scoring graph's inputs, in buffers the caller owns and reuses:
/// <c>input_ids</c> and <c>attention_mask</c> (int64) and <c>label_mask</c> (float32), each [rows, T] row-major.
/// Rows are right-padded (pad id, attention 0); T is the longest row rounded up to a multiple of 8, as MeZO's
/// collator pads (<c>pad_to_multiple_of=8</c>), but never more than the maximum length. label_mask[r, t] = 1
/// where token t is scored (it is predicted from position t−1). MeZO pads on the left for training; with
/// positions counted from each row's first token, as here, a causal model scores both layouts alike.
/// </summary>
internal static class ScoringBatcher
{
    public const int LengthMultiple = 8;

    /// <summary>The shape <see cref="Fill"/> will produce, so the caller can check or size its buffers.</summary>
    public static ScoringBatchShape Measure(IReadOnlyList<EncodedExample> examples, ReadOnlySpan<int> selection, CandidateRows which, int maxLength)
    {
        int rows = 0, longest = 0;
        foreach (int e in selection)
        {
            EncodedExample example = examples[e];
            for (int c = 0; c < example.CandidateCount; c++)
            {
                if (which == CandidateRows.All || c == example.Gold)
                {
                    rows++;
                    longest = Math.Max(longest, example.Rows[c].Length);
                }
            }
        }
        int rounded = (longest + LengthMultiple - 1) / LengthMultiple * LengthMultiple;
        return new ScoringBatchShape(rows, Math.Min(rounded, maxLength));
    }

    /// <summary>
    /// Writes the rows of <paramref name="selection"/> (indices into <paramref name="examples"/>), each example's
    /// rows together and in candidate order, and describes each row in <paramref name="rowInfo"/>. Only the
    /// first shape.Elements entries of each tensor buffer and shape.Rows entries of rowInfo are written.
    /// </summary>
    /// <param name="padId">Token written after each row's end (the tokenizer's pad id, or 0 when it has none).</param>
    public static ScoringBatchShape Fill(
        IReadOnlyList<EncodedExample> examples, ReadOnlySpan<int> selection, CandidateRows which, int maxLength, long padId,
        Span<long> inputIds, Span<long> attentionMask, Span<float> labelMask, Span<ScoringRow> rowInfo)
    {
        ScoringBatchShape shape = Measure(examples, selection, which, maxLength);
        RequireLength(inputIds.Length, shape.Elements, nameof(inputIds));
        RequireLength(attentionMask.Length, shape.Elements, nameof(attentionMask));
        RequireLength(labelMask.Length, shape.Elements, nameof(labelMask));
        RequireLength(rowInfo.Length, shape.Rows, nameof(rowInfo));

        int t = shape.SequenceLength;
        int r = 0;
        foreach (int e in selection)
        {
            EncodedExample example = examples[e];
            for (int c = 0; c < example.CandidateCount; c++)
            {
                if (which == CandidateRows.GoldOnly && c != example.Gold)
                {
                    continue;
                }
                int[] tokens = example.Rows[c];
                if (tokens.Length > t)
                {
                    throw new ArgumentException(
                        $"Example {e} candidate {c} has {tokens.Length} tokens, more than the maximum length {maxLength}; encode with the same maximum length.", nameof(maxLength));
                }
                Span<long> ids = inputIds.Slice(r * t, t);
                Span<long> attention = attentionMask.Slice(r * t, t);
                Span<float> labels = labelMask.Slice(r * t, t);
                for (int i = 0; i < tokens.Length; i++)
                {
                    ids[i] = tokens[i];
                }
                ids[tokens.Length..].Fill(padId);
                attention[..tokens.Length].Fill(1);
                attention[tokens.Length..].Clear();
                labels.Clear();
                (int start, int count) = example.ScoredSpan(c);
                labels.Slice(start, count).Fill(1f);
                rowInfo[r] = new ScoringRow(e, c, c == example.Gold, count);
                r++;
            }
        }
        return shape;
    }

    private static void RequireLength(int actual, int needed, string name)
    {
        if (actual < needed)
        {
            throw new ArgumentException($"The buffer holds {actual} entries; this batch needs {needed}.", name);
        }
    }
}
