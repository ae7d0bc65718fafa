using OrtZo.Import;
using NUnit.Framework;
using OrtZo.Onnx.Model;
using OrtZo.WeightStore;

namespace OrtZo.Tests.Onnx;

/// <summary>The scoring head alone, on <see cref="TableModel"/>s whose exact log-probabilities the test computes in double.</summary>
public class ScoringHeadTests
{
    private const int Vocab = 40;

    private static float[] RandomTable(int seed, float range)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, Vocab * Vocab).Select(_ => (float)((random.NextDouble() * 2 - 1) * range)).ToArray();
    }

    private static ImportedModelRunner Import(TempFolder folder, float[] table, DType dtype, int opset = 17)
    {
        string source = Path.Combine(folder.Path, "source");
        Directory.CreateDirectory(source);
        TableModel.Write(Path.Combine(source, "model.onnx"), table, Vocab, dtype, opset);
        var report = ModelImport.Import(source, folder.File("imported"), new ImportOptions { Verify = ImportVerification.Forward });
        Assert.That(report.Manifest.WeightInputs.Single().Dtype, Is.EqualTo(dtype.ToShortName()), "dtype preserved");
        return ImportedModelRunner.Open(report.OutputFolder);
    }

    /// <summary>
    /// Logits uniform in ±1000 (exp overflows float32 beyond ~88): a naive log Σ exp would give inf or NaN.
    /// Log-probabilities reach about −2000, where float32's spacing is 1.2e-4; sums of ~10 such terms are
    /// compared with a relative tolerance of 1e-6 plus 1e-3 absolute.
    /// </summary>
    [TestCase(17, TestName = "Large logits (±1000) stay exact: ReduceLogSumExp with axes attribute (opset 17)")]
    [TestCase(18, TestName = "Large logits (±1000) stay exact: ReduceLogSumExp with axes input (opset 18)")]
    public void LargeLogits_AreNumericallyStable(int opset)
    {
        using var folder = new TempFolder("large");
        var table = RandomTable(11, 1000f);
        using var runner = Import(folder, table, DType.F32, opset);
        var batch = ScoringBatch.Random(5, batch: 4, seq: 10, Vocab);
        var logits = TableModel.Logits(table, Vocab, DType.F32, batch.Ids);
        var (sum, mean) = ReferenceScoring.Scores(logits, batch.Ids, batch.LabelMask, batch.Batch, batch.Seq, Vocab);
        var scores = runner.Score(batch.Ids, batch.Batch, batch.Seq, null, batch.LabelMask);
        double worst = 0;
        for (int b = 0; b < batch.Batch; b++)
        {
            Assert.That(float.IsFinite(scores.SumLogprob[b]), $"row {b} is finite");
            Assert.That(scores.SumLogprob[b], Is.EqualTo(sum[b]).Within(1e-6 * Math.Abs(sum[b]) + 1e-3), $"sum of row {b}");
            Assert.That(scores.MeanLogprob[b], Is.EqualTo(mean[b]).Within(1e-6 * Math.Abs(mean[b]) + 1e-3), $"mean of row {b}");
            worst = Math.Max(worst, Math.Abs(scores.SumLogprob[b] - sum[b]));
        }
        Assert.That(sum.Min(), Is.LessThan(-500), "the test really exercises large log-probabilities");
        TestContext.Out.WriteLine($"largest |OrtZo - oracle| on sums down to {sum.Min():F0}: {worst:E2}");
    }

    [Test]
    public void MaskedPositions_ContributeExactlyZero_EvenWhenTheirLogprobIsMinusInfinity()
    {
        using var folder = new TempFolder("neginf");
        var table = RandomTable(3, 5f);
        table[7 * Vocab + 9] = float.NegativeInfinity; // after token 7, token 9 is impossible
        using var runner = Import(folder, table, DType.F32);
        long[] ids = [1, 7, 9, 4, 2, 7, 9, 3];
        float[] labels = [0, 1, 0, 1, 1, 1, 1, 1]; // row 0 skips the impossible token, row 1 scores it
        var scores = runner.Score(ids, 2, 4, null, labels);
        var (sum, mean) = ReferenceScoring.Scores(TableModel.Logits(table, Vocab, DType.F32, ids), ids, labels, 2, 4, Vocab);
        Assert.That(scores.SumLogprob[0], Is.EqualTo(sum[0]).Within(1e-5), "no NaN from −inf · 0");
        Assert.That(scores.MeanLogprob[0], Is.EqualTo(mean[0]).Within(1e-5));
        Assert.That(scores.SumLogprob[1], Is.EqualTo(float.NegativeInfinity), "a scored impossible token gives −inf");
    }

    [Test]
    public void RowWithoutTargets_ScoresZero_AndColumnZeroIsNeverATarget()
    {
        using var folder = new TempFolder("empty");
        var table = RandomTable(4, 3f);
        using var runner = Import(folder, table, DType.F32);
        long[] ids = [5, 6, 7, 8, 5, 6, 7, 8];
        float[] labels = [0, 0, 0, 0, 1, 0, 0, 0]; // row 1 marks only column 0
        var scores = runner.Score(ids, 2, 4, null, labels);
        Assert.That(scores.SumLogprob, Is.EqualTo(new[] { 0f, 0f }));
        Assert.That(scores.MeanLogprob, Is.EqualTo(new[] { 0f, 0f }), "mean = sum / max(count, 1)");
    }

    [TestCase("f16", TestName = "fp16 logits are cast to float before scoring; the weight stays f16")]
    [TestCase("bf16", TestName = "bf16 logits are cast to float before scoring; the weight stays bf16")]
    public void HalfPrecisionLogits_AreScoredInFloat(string dtypeName)
    {
        var dtype = TestDTypes.Parse(dtypeName);
        using var folder = new TempFolder("half");
        var table = RandomTable(8, 4f);
        using var runner = Import(folder, table, dtype);
        var batch = ScoringBatch.Random(9, batch: 3, seq: 7, Vocab);
        var (sum, mean) = ReferenceScoring.Scores(TableModel.Logits(table, Vocab, dtype, batch.Ids), batch.Ids, batch.LabelMask, batch.Batch, batch.Seq, Vocab);
        var scores = runner.Score(batch.Ids, batch.Batch, batch.Seq, null, batch.LabelMask);
        ScoringBatch.AssertClose(scores.SumLogprob, scores.MeanLogprob, sum, mean, 1e-4);
    }
}
