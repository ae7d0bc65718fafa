using NUnit.Framework;

namespace OrtZo.Tests.Onnx;

/// <summary>
/// A batch for scoring tests: random ids, right padding of random length (one row always padded), random label
/// masks inside each row — including 1s in column 0, which the head must ignore since nothing predicts token 0.
/// </summary>
internal sealed record ScoringBatch(long[] Ids, long[] AttentionMask, float[] LabelMask, int Batch, int Seq)
{
    public static ScoringBatch Random(int seed, int batch, int seq, int vocab)
    {
        var random = new Random(seed);
        var ids = new long[batch * seq];
        var attention = new long[batch * seq];
        var labels = new float[batch * seq];
        for (int b = 0; b < batch; b++)
        {
            int length = b == batch - 1 ? Math.Max(2, seq / 2) : random.Next(2, seq + 1);
            for (int t = 0; t < seq; t++)
            {
                int i = b * seq + t;
                if (t >= length) continue; // padding: id 0, attention 0, label 0
                ids[i] = random.Next(vocab);
                attention[i] = 1;
                labels[i] = t == 0 ? random.Next(2) : random.NextDouble() < 0.7 ? 1f : 0f;
            }
            labels[b * seq + length - 1] = 1f; // at least one scored token per row
        }
        return new ScoringBatch(ids, attention, labels, batch, seq);
    }

    /// <summary>Asserts OrtZo's float scores equal the double oracle within <paramref name="tolerance"/>; returns the largest difference.</summary>
    public static double AssertClose(float[] actualSum, float[] actualMean, double[] expectedSum, double[] expectedMean, double tolerance)
    {
        double worst = 0;
        for (int b = 0; b < expectedSum.Length; b++)
        {
            Assert.That(actualSum[b], Is.EqualTo(expectedSum[b]).Within(tolerance), $"sum_logprob of row {b}");
            Assert.That(actualMean[b], Is.EqualTo(expectedMean[b]).Within(tolerance), $"mean_logprob of row {b}");
            worst = Math.Max(worst, Math.Max(Math.Abs(actualSum[b] - expectedSum[b]), Math.Abs(actualMean[b] - expectedMean[b])));
        }
        return worst;
    }
}
