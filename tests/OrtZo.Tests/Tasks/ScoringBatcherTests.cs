using NUnit.Framework;
using OrtZo.Tasks;

namespace OrtZo.Tests.Tasks;

/// <summary>The batcher's layout: shapes, right padding, attention, label mask, row map, and no allocation.</summary>
public class ScoringBatcherTests
{
    // Example 0: two candidates (rows of 3 and 4 tokens, options 1 and 2), gold 1.
    // Example 1: one row of 10 tokens whose option (3) is its end, gold 0.
    // Example 2: a row truncated into its option (option 6 > 4 tokens), gold 0.
    private static readonly EncodedExample[] Examples =
    [
        new([[5, 6, 7], [5, 6, 8, 9]], [1, 2], 1),
        new([[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]], [3], 0),
        new([[40, 41, 42, 43], [40, 41, 44, 45]], [6, 1], 0),
    ];

    [Test]
    public void SequenceLengthIsTheLongestRowRoundedUpTo8AndCapped()
    {
        Assert.That(ScoringBatcher.Measure(Examples, [0], CandidateRows.All, 2048), Is.EqualTo(new ScoringBatchShape(2, 8)));
        Assert.That(ScoringBatcher.Measure(Examples, [0, 1], CandidateRows.All, 2048), Is.EqualTo(new ScoringBatchShape(3, 16)));
        Assert.That(ScoringBatcher.Measure(Examples, [0, 1], CandidateRows.All, 12), Is.EqualTo(new ScoringBatchShape(3, 12)));
        Assert.That(ScoringBatcher.Measure(Examples, [0, 2], CandidateRows.GoldOnly, 2048), Is.EqualTo(new ScoringBatchShape(2, 8)));
    }

    [Test]
    public void FillsRowsPaddingMasksAndTheRowMap()
    {
        var ids = new long[64];
        var attention = new long[64];
        var labels = new float[64];
        var rows = new ScoringRow[8];
        Array.Fill(ids, -7);
        ScoringBatchShape shape = ScoringBatcher.Fill(Examples, [0, 2], CandidateRows.All, 2048, padId: 99, ids, attention, labels, rows);

        Assert.That(shape, Is.EqualTo(new ScoringBatchShape(4, 8)));
        Assert.That(ids[..8], Is.EqualTo(new long[] { 5, 6, 7, 99, 99, 99, 99, 99 }));
        Assert.That(ids[8..16], Is.EqualTo(new long[] { 5, 6, 8, 9, 99, 99, 99, 99 }));
        Assert.That(attention[8..16], Is.EqualTo(new long[] { 1, 1, 1, 1, 0, 0, 0, 0 }));
        Assert.That(labels[..8], Is.EqualTo(new float[] { 0, 0, 1, 0, 0, 0, 0, 0 }));
        Assert.That(labels[8..16], Is.EqualTo(new float[] { 0, 0, 1, 1, 0, 0, 0, 0 }));
        Assert.That(labels[16..24], Is.EqualTo(new float[] { 0, 1, 1, 1, 0, 0, 0, 0 }), "truncated option: every position but the first");
        Assert.That(labels[24..32], Is.EqualTo(new float[] { 0, 0, 0, 1, 0, 0, 0, 0 }));
        Assert.That(ids[32], Is.EqualTo(-7), "nothing past rows × T is written");
        Assert.That(rows[..4], Is.EqualTo(new[]
        {
            new ScoringRow(0, 0, false, 1), new ScoringRow(0, 1, true, 2),
            new ScoringRow(2, 0, true, 3), new ScoringRow(2, 1, false, 1),
        }));
    }

    [Test]
    public void GoldOnlyKeepsTheCorrectCandidates()
    {
        var ids = new long[32];
        var rows = new ScoringRow[4];
        ScoringBatchShape shape = ScoringBatcher.Fill(Examples, [0, 1], CandidateRows.GoldOnly, 2048, 0, ids, new long[32], new float[32], rows);
        Assert.That(shape, Is.EqualTo(new ScoringBatchShape(2, 16)));
        Assert.That(rows[..2], Is.EqualTo(new[] { new ScoringRow(0, 1, true, 2), new ScoringRow(1, 0, true, 3) }));
        Assert.That(ids[..4], Is.EqualTo(new long[] { 5, 6, 8, 9 }));
    }

    [Test]
    public void ShortBufferIsRejected()
    {
        var e = Assert.Throws<ArgumentException>(() =>
            ScoringBatcher.Fill(Examples, [0, 1], CandidateRows.All, 2048, 0, new long[47], new long[48], new float[48], new ScoringRow[3]))!;
        Assert.That(e.ParamName, Is.EqualTo("inputIds"));
    }

    [Test]
    public void RowLongerThanTheMaximumIsRejected()
    {
        Assert.Throws<ArgumentException>(() =>
            ScoringBatcher.Fill(Examples, [1], CandidateRows.All, 8, 0, new long[8], new long[8], new float[8], new ScoringRow[1]));
    }

    [Test]
    public void FillingIntoPreallocatedBuffersAllocatesNothing()
    {
        var ids = new long[128];
        var attention = new long[128];
        var labels = new float[128];
        var rows = new ScoringRow[8];
        int[] selection = [0, 1, 2];
        ScoringBatcher.Fill(Examples, selection, CandidateRows.All, 2048, 0, ids, attention, labels, rows);
        long before = GC.GetAllocatedBytesForCurrentThread();
        ScoringBatcher.Fill(Examples, selection, CandidateRows.All, 2048, 0, ids, attention, labels, rows);
        Assert.That(GC.GetAllocatedBytesForCurrentThread() - before, Is.Zero);
    }
}
